# expect-score: 4
# Right idea, too little training: after 20 epochs the prediction for 10 is about 29.9, and one of the
# three hidden probes is still within tolerance (partial credit).
import numpy as np
import tensorflow as tf

xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)
model = tf.keras.Sequential([tf.keras.layers.Dense(units=1, input_shape=[1])])
model.compile(optimizer="sgd", loss="mean_squared_error")
model.fit(xs, ys, epochs=20)
print(model.predict(np.array([10.0])))
