import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

base_dir = "./data/"  # happy/ and sad/, 40 pictures each


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        # TODO: once logs.get('accuracy') is above 0.999, print a message and stop training
        # by setting the stop_training attribute of self.model to True.
        pass


def image_generator():
    # TODO: an ImageDataGenerator that scales the pixels to 0..1, and its flow_from_directory over
    # base_dir with target_size=(150, 150), batch_size=10 and class_mode='binary'.
    train_datagen = ImageDataGenerator()
    return train_datagen.flow_from_directory(directory=base_dir, target_size=(150, 150))


def train_happy_sad_model(train_generator):
    callbacks = myCallback()
    # TODO: a convolutional network for 150x150 colour pictures: Conv2D and MaxPooling2D blocks, then
    # Flatten, a Dense layer, and one sigmoid unit (happy or sad).
    model = tf.keras.models.Sequential([
        tf.keras.Input(shape=(150, 150, 3)),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    # TODO: pass your callback to fit, and ask for 15 epochs.
    history = model.fit(x=train_generator, epochs=1)
    return history
