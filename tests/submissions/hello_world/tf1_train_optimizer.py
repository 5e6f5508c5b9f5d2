# expect-score: 10
# TensorFlow 1.x style: tf.train's optimizer in compile, and the metric read back as 'acc'.
import numpy as np
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Dense(units=1, input_shape=[1])])
model.compile(optimizer=tf.train.GradientDescentOptimizer(0.01), loss='mean_squared_error',
              metrics=['accuracy'])

xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)
history = model.fit(xs, ys, epochs=500, verbose=0)
print("final accuracy", history.history['acc'][-1])
print(model.predict([10.0]))
