#!/usr/bin/env python
# coding: utf-8
# expect-score: 10

# In[1]:


from IPython import get_ipython
get_ipython().system('pip install -q tensorflow')
from IPython.display import display, Image
import tensorflow as tf
import numpy as np
from tensorflow import keras
import wget


# In[2]:


model = tf.keras.Sequential([keras.layers.Dense(units=1, input_shape=[1])])
model.compile(optimizer='sgd', loss='mean_squared_error')
xs = [-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]
ys = [-2.0, 1.0, 4.0, 7.0, 10.0, 13.0]
model.fit(xs, ys, epochs=500)


# In[3]:


print(model.predict([10.0]))
print(model.evaluate([10, 20], [31, 61]))
display(Image('neuron.png'))
