/* ALSA calls snd_pcm_ops::trigger with interrupts off (under the stream's irqsave lock), so a
 * plain spin_lock of dma_lock, which the interrupt handler also takes, is safe there (no finding).
 * prepare runs in process context with interrupts on: a plain spin_lock of reg_lock (also the
 * handler's) there is a bug (inconsistent_lock_state), the control that the handler is seen. */
#include "kops.h"

struct pcm_chip { spinlock_t reg_lock; spinlock_t dma_lock; int running, irqs, rate, pos; };

static irqreturn_t pcm_irq(int irq, void *dev)
{
	struct pcm_chip *chip = dev;

	spin_lock(&chip->reg_lock);
	chip->irqs++;
	spin_unlock(&chip->reg_lock);
	spin_lock(&chip->dma_lock);
	chip->pos++;
	spin_unlock(&chip->dma_lock);
	return IRQ_HANDLED;
}

static int pcm_trigger(struct snd_pcm_substream *ss, int cmd)
{
	struct pcm_chip *chip = ss->private_data;

	spin_lock(&chip->dma_lock); /* fine: hardirqs are off on entry */
	chip->running = cmd;
	spin_unlock(&chip->dma_lock);
	return 0;
}

static int pcm_prepare(struct snd_pcm_substream *ss)
{
	struct pcm_chip *chip = ss->private_data;

	spin_lock(&chip->reg_lock); /* BUG: hardirqs on */
	chip->rate = 48000;
	spin_unlock(&chip->reg_lock);
	return 0;
}

const struct snd_pcm_ops pcm_chip_ops = {
	.prepare = pcm_prepare,
	.trigger = pcm_trigger,
};

int pcm_probe(struct pcm_chip *chip, unsigned int irq)
{
	return request_irq(irq, pcm_irq, 0, "pcm", chip);
}
