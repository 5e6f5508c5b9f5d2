# expect-fail: augmented
# The reference network without augmentation: it learns the training pictures, not cats and dogs.
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

datagen = ImageDataGenerator(rescale=1.0 / 255)
train_generator = datagen.flow_from_directory("cats_and_dogs_filtered/train", target_size=(150, 150),
                                              batch_size=20, class_mode="binary")
validation_generator = datagen.flow_from_directory("cats_and_dogs_filtered/validation", target_size=(150, 150),
                                                   batch_size=20, class_mode="binary")
model = tf.keras.models.Sequential([
    tf.keras.layers.Conv2D(16, (3, 3), activation="relu", input_shape=(150, 150, 3)),
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
model.fit(train_generator, epochs=8, validation_data=validation_generator, verbose=2)
