# expect-score: 10
# An old-TF style script: tf.logging, an optimizer's lr=, keras.preprocessing import, predict on a list.
import numpy as np
import tensorflow as tf
from tensorflow import keras

tf.logging.set_verbosity(tf.logging.ERROR)
tf.enable_eager_execution()

model = keras.Sequential([keras.layers.Dense(units=1, input_shape=[1])])
model.compile(optimizer=keras.optimizers.SGD(lr=0.01), loss="mean_squared_error")
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)
model.fit(xs, ys, epochs=500, verbose=0)
print(model.predict([10.0]))
