# expect-fail: convolutional
# Last week's dense network with a stricter callback: no convolution at all.
import tensorflow as tf


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") >= 0.995:
            self.model.stop_training = True


def train_mnist_conv(x_train, y_train):
    model = tf.keras.models.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
                                        tf.keras.layers.Dense(512, activation="relu"),
                                        tf.keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x_train / 255.0, y_train, epochs=20, callbacks=[myCallback()])
