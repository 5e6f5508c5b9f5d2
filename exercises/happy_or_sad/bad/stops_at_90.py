# expect-fail: stopped_at_99_9
# An earlier week's threshold: the callback stops at 90%, before the 99.9% the assignment asks for.
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.9:
            self.model.stop_training = True


def train_happy_sad_model():
    generator = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        "/tmp/h-or-s", target_size=(150, 150), batch_size=10, class_mode="binary")
    model = tf.keras.models.Sequential([
        tf.keras.Input(shape=(150, 150, 3)),
        tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    return model.fit(generator, epochs=15, callbacks=[myCallback()])
