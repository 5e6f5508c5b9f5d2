# expect-score: 10
# TensorFlow's tutorials' style: the last layer outputs a logit (no sigmoid) and the loss is told so.
import tensorflow as tf


class StopAt100(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs["accuracy"] > 0.999:
            print("\nReached 99.9% accuracy so cancelling training!")
            self.model.stop_training = True


def image_generator():
    return tf.keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        "data", target_size=(150, 150), batch_size=10, class_mode="binary")


def train_happy_sad_model(train_generator):
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(150, 150, 3)),
        tf.keras.layers.Conv2D(16, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Conv2D(32, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)])
    return model.fit(train_generator, epochs=15, callbacks=[StopAt100()])
