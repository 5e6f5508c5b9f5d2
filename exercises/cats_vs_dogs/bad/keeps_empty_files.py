# expect-fail: split_data
# split_data copies every file, the zero-length ones too (and flow_from_directory then stops at one of them).
import os
import random
from shutil import copyfile

import tensorflow as tf
from tensorflow.keras.optimizers import RMSprop
from tensorflow.keras.preprocessing.image import ImageDataGenerator

for folder in ["/tmp/cats-v-dogs/training/cats", "/tmp/cats-v-dogs/training/dogs",
               "/tmp/cats-v-dogs/testing/cats", "/tmp/cats-v-dogs/testing/dogs"]:
    os.makedirs(folder, exist_ok=True)


def split_data(SOURCE, TRAINING, TESTING, SPLIT_SIZE):
    files = []
    for filename in os.listdir(SOURCE):
        if True:
            files.append(filename)
        else:
            print(filename + " is zero length, so ignoring.")
    training_length = int(len(files) * SPLIT_SIZE)
    shuffled = random.sample(files, len(files))
    for filename in shuffled[:training_length]:
        copyfile(SOURCE + filename, TRAINING + filename)
    for filename in shuffled[training_length:]:
        copyfile(SOURCE + filename, TESTING + filename)


split_size = 0.9
split_data("/tmp/PetImages/Cat/", "/tmp/cats-v-dogs/training/cats/", "/tmp/cats-v-dogs/testing/cats/", split_size)
split_data("/tmp/PetImages/Dog/", "/tmp/cats-v-dogs/training/dogs/", "/tmp/cats-v-dogs/testing/dogs/", split_size)
print(len(os.listdir("/tmp/cats-v-dogs/training/cats/")), len(os.listdir("/tmp/cats-v-dogs/testing/cats/")))

model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(150, 150, 3)),
    tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(512, activation="relu"),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=RMSprop(learning_rate=0.001), loss="binary_crossentropy", metrics=["accuracy"])

train_generator = ImageDataGenerator(rescale=1.0 / 255.0).flow_from_directory(
    "/tmp/cats-v-dogs/training/", batch_size=50, class_mode="binary", target_size=(150, 150))
validation_generator = ImageDataGenerator(rescale=1.0 / 255.0).flow_from_directory(
    "/tmp/cats-v-dogs/testing/", batch_size=50, class_mode="binary", target_size=(150, 150))


class GoodEnough(tf.keras.callbacks.Callback):
    """Stop once validation accuracy is comfortably above the 80% the exercise asks for."""

    def on_epoch_end(self, epoch, logs=None):
        if logs.get("val_accuracy", 0) >= 0.9:
            self.model.stop_training = True


history = model.fit(train_generator, epochs=15, validation_data=validation_generator, callbacks=[GoodEnough()],
                    verbose=2)
