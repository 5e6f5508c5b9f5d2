import tensorflow as tf


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        # TODO: once logs.get('accuracy') reaches 0.995, print a message and stop training.
        pass


def train_mnist_conv(x_train, y_train):
    # TODO: reshape to (number of images, 28, 28, 1) and scale to 0..1.
    model = tf.keras.models.Sequential([
        tf.keras.Input(shape=(28, 28)),
        # TODO: a Conv2D and a MaxPooling2D layer (the input needs its channel axis for them).
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # TODO: pass your callback and ask for 20 epochs.
    history = model.fit(x_train, y_train, epochs=1)
    return history
