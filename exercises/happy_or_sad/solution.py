import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

base_dir = "./data/"  # happy/ and sad/, 40 pictures each


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") is not None and logs.get("accuracy") > 0.999:
            print("\nReached 99.9% accuracy so cancelling training!")
            self.model.stop_training = True


def image_generator():
    train_datagen = ImageDataGenerator(rescale=1 / 255)
    return train_datagen.flow_from_directory(directory=base_dir, target_size=(150, 150), batch_size=10,
                                             class_mode="binary")


def train_happy_sad_model(train_generator):
    callbacks = myCallback()
    model = tf.keras.models.Sequential([
        tf.keras.Input(shape=(150, 150, 3)),
        tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(512, activation="relu"),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer=tf.keras.optimizers.RMSprop(learning_rate=0.001),
                  metrics=["accuracy"])
    history = model.fit(x=train_generator, epochs=15, callbacks=[callbacks])
    return history
