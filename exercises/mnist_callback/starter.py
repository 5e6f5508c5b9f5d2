import tensorflow as tf


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        # TODO: once logs.get('accuracy') reaches 0.99, print a message and stop training
        # by setting the stop_training attribute of self.model to True.
        pass


def train_mnist(x_train, y_train):
    # TODO: scale the pixel values to 0..1.
    callbacks = myCallback()
    model = tf.keras.models.Sequential([
        tf.keras.Input(shape=(28, 28)),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(512, activation="relu"),
        tf.keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # TODO: pass your callback to fit, and ask for 10 epochs.
    history = model.fit(x_train, y_train, epochs=1)
    return history
