# expect-fail: trained_with_fit
# A model that is built and compiled but never trained: `grader exercise verify` checks it fails.
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mean_squared_error")
