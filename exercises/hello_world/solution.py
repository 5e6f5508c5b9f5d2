import numpy as np
import tensorflow as tf
from tensorflow import keras

# Define and compile the neural network: one layer, one neuron, one input.
model = tf.keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(units=1)])
model.compile(optimizer="sgd", loss="mean_squared_error")

# The data: y = 3x + 1.
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-2.0, 1.0, 4.0, 7.0, 10.0, 13.0], dtype=float)

# Train: guess, measure the loss, let the optimizer improve the guess, 500 times.
model.fit(xs, ys, epochs=500)

print(model.predict(np.array([10.0])))
