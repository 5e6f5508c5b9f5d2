# expect-score: 10
# TensorFlow 2.11-2.15 style (the course's week-1 template): a legacy optimizer with lr=, and the loss
# passed as a function from tf.keras.losses. Keras 3 refuses the legacy optimizer; tf-keras runs it.
import numpy as np
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Dense(units=1, input_shape=[1])])
model.compile(optimizer=tf.keras.optimizers.legacy.SGD(lr=0.01), loss=tf.keras.losses.mse)

xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)
model.fit(xs, ys, epochs=500, verbose=0)
print(model.predict([10.0]))
