"""Training (`edgecnn train`, build/<r>/model.keras): fit.py trains a recipe's model with tf_keras under a
tf.distribute strategy (distribute.py: one device, all local GPUs, or a multi-worker cluster; workers.py
starts local workers); options.py holds the training choices (augmentation, schedule, EMA) and distill.py
knowledge distillation; stage.py is the step Make runs; gpu_check.py the training half of make gpu-check."""
