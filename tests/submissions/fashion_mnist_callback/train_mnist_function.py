# expect-score: 10
# The assignment's function style: train_mnist(x_train, y_train) normalises, trains with its own
# callback and returns the History.
import tensorflow as tf


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        if logs.get("accuracy") is not None and logs.get("accuracy") > 0.9:
            print("\nReached 90% accuracy so cancelling training!")
            self.model.stop_training = True


def train_mnist(x_train, y_train):
    x_train = x_train / 255.0
    callbacks = myCallback()
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(512, activation=tf.nn.relu),
        tf.keras.layers.Dense(10, activation=tf.nn.softmax),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=10, callbacks=[callbacks])
    return history
