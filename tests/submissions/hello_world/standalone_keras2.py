# expect-score: 10
# Standalone Keras 2 (2018-19): `import keras`, not tf.keras, and Adam(lr=...).
import numpy as np
from keras.models import Sequential
from keras.layers import Dense
from keras.optimizers import SGD

model = Sequential()
model.add(Dense(units=1, input_shape=[1]))
model.compile(optimizer=SGD(lr=0.01), loss='mean_squared_error')
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])
ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0])
model.fit(xs, ys, epochs=500, verbose=0)
