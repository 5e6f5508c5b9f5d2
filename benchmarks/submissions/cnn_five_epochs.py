# cnn_augmentation's reference as a student trains it for a fixed number of epochs (the course's notebooks train
# 15 to 100 on the real data; five here, on the stand-in): what verifying costs over a training of several epochs,
# where the saved states are many and the replayed parts a smaller share (bench.py --verification).
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

train_datagen = ImageDataGenerator(rescale=1.0 / 255, rotation_range=40, width_shift_range=0.2,
                                   height_shift_range=0.2, shear_range=0.2, zoom_range=0.2, horizontal_flip=True,
                                   fill_mode="nearest")
train_generator = train_datagen.flow_from_directory("cats_and_dogs_filtered/train", target_size=(150, 150),
                                                    batch_size=20, class_mode="binary")
validation_generator = ImageDataGenerator(rescale=1.0 / 255).flow_from_directory(
    "cats_and_dogs_filtered/validation", target_size=(150, 150), batch_size=20, class_mode="binary")

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
model.compile(loss="binary_crossentropy", optimizer=tf.keras.optimizers.RMSprop(learning_rate=0.001),
              metrics=["accuracy"])
history = model.fit(train_generator, epochs=5, validation_data=validation_generator, verbose=2)
