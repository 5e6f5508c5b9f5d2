# expect-fail: convolutional
# No convolutions: a Flatten and Dense layers only. It may still learn 80 pictures by heart.
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.999:
            self.model.stop_training = True


def train_happy_sad_model():
    generator = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        "./data/", target_size=(150, 150), batch_size=10, class_mode="binary")
    model = tf.keras.models.Sequential([
        tf.keras.Input(shape=(150, 150, 3)),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(64, activation="relu"),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model.fit(generator, epochs=15, callbacks=[myCallback()])
