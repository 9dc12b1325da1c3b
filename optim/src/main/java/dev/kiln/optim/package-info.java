/**
 * Optimizers, learning-rate schedulers and gradient clipping, the counterparts of
 * {@code torch.optim}, {@code torch.optim.lr_scheduler} and {@code torch.nn.utils.clip_grad_*}
 * with PyTorch 1.13's numbers, plus {@link dev.kiln.optim.AdamX} and {@link dev.kiln.optim.AdamZ}.
 * Optimizers take any {@code Iterable<Tensor>} and update it in place under no-grad with Tensor
 * operations, so they run on every backend. See {@code docs/optimizers.md}.
 */
package dev.kiln.optim;
