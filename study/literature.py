"""What published measurements found, one paragraph per claim, and whether ours agree.

The facts are stated in our words with the reference; whether our runs agree is decided from
this study's verdicts, never written in advance.
"""

from __future__ import annotations

from tuning.verdicts.rules import HELD

REFERENCES = (
    "Keskar, Mudigere, Nocedal, Smelyanskiy and Tang (2017). On large-batch training for deep "
    "learning: generalization gap and sharp minima. ICLR.",
    "Hoffer, Hubara and Soudry (2017). Train longer, generalize better: closing the "
    "generalization gap in large batch training of neural networks. NeurIPS.",
    "Smith and Le (2018). A Bayesian perspective on generalization and stochastic gradient "
    "descent. ICLR.",
    "Shallue, Lee, Antognini, Sohl-Dickstein, Frostig and Dahl (2019). Measuring the effects "
    "of data parallelism on neural network training. JMLR 20(112).",
    "Goyal, Dollár, Girshick, Noordhuis, Wesolowski, Kyrola, Tulloch, Jia and He (2017). "
    "Accurate, large minibatch SGD: training ImageNet in 1 hour. arXiv:1706.02677.",
)


def memory(partition: str | None, stream: str | None) -> str:
    """The memory claim against data-parallel practice."""
    agree = partition == HELD and stream != HELD
    return (
        "None of the five papers lowers memory with steps per epoch; they treat the batch as "
        "what a device must hold. Goyal et al. (2017) grew ResNet-50's batch to 8,192 images "
        "by spreading it over 256 GPUs at 32 images each, so each GPU's memory was set by its "
        "32 images whatever the total; Shallue et al. (2019) likewise study larger batches "
        "as more data parallelism, a batch split across more devices. In their terms the "
        "rule is \"shrink the batch a device holds\", which steps_per_epoch does only when "
        "it sets the batch. "
        + ("Ours agree as far as they go: under partition semantics raising steps_per_epoch "
           "shrank the batch and the memory with it; under stream semantics it left the batch "
           "as set, and the memory did not fall with it (" + (stream or "not run") + ")."
           if agree else
           "Our verdicts do not line up with that reading as cleanly (partition: "
           f"{partition or 'not run'}; stream: {stream or 'not run'}); see the evidence above.")
    )


def overfitting(total: str | None, updates_only: str | None, batches_only: str | None,
                nothing: str | None, turns: dict[int, float] | None = None) -> str:
    """The overfitting claim against the batch-size literature.

    `total`: partition at equal epochs (more updates and smaller batches); `updates_only`:
    stream at equal epochs; `batches_only`: partition at equal updates; `nothing`: stream at
    equal updates. `turns`: median updates to the lowest validation loss, by batch size."""
    updates_story = total == HELD and updates_only == HELD and batches_only != HELD
    return (
        "Keskar et al. (2017) trained six networks with Adam for the same number of epochs at "
        "small batches (256) and large ones (10% of the training set): the large batches "
        "reached similar training accuracy but lower test accuracy, which they tied to sharp "
        "minima. That is the folk rule's opposite: fewer, larger steps generalised worse. "
        "Hoffer et al. (2017) traced that gap to the number of updates: large batches trained "
        "for as many updates as small ones (with the learning rate scaled by the square root "
        "of the batch ratio and ghost batch normalisation) closed it, and the weights' distance "
        "from their start grew with the logarithm of the updates. Smith and Le (2018) measured "
        "SGD's noise scale as about learning rate × training-set size / batch and found the "
        "best test accuracy at a batch proportional to learning rate × training-set size, so "
        "at a fixed learning rate a smaller batch means more noise. Shallue et al. (2019) "
        "counted the steps needed to reach a target error as the batch grew (halving at first, "
        "then diminishing returns, then none) and showed that budgets fixed in epochs penalise "
        "large batches, because they give them fewer steps. Goyal et al. (2017) kept accuracy "
        "up to batches of 8,192 only by scaling the learning rate linearly with the batch, "
        "after a 5-epoch warm-up; our runs keep Adam's learning rate fixed, so a large batch "
        "here also moves less per sample. We varied neither the learning rate nor the "
        "training-set size, so Smith and Le's optimum and Goyal et al.'s scaling rule are not "
        "tested here; they are why these runs say nothing about batch size at a learning rate "
        "tuned for each batch. "
        + _turns(turns or {})
        + ("Ours count training as Hoffer et al. and Shallue et al. do, and what they show "
           "is the amount of training: at equal epochs more steps per epoch meant more "
           "training and a wider gap (partition: " + (total or "not run") + "; stream, where "
           "it also meant more samples: " + (updates_only or "not run") + "); at equal "
           "updates and samples, where the epochs ended made no difference ("
           + (nothing or "not run") + "); at equal updates under partition semantics the "
           "smaller batches, which had also seen fewer samples, had the smaller gap ("
           + (batches_only or "not run") + " for the rule). These runs do not separate the "
           "number of updates from the samples seen, so they neither confirm nor refute "
           "Hoffer et al.'s account that the updates, not the batch, matter. On data with "
           "wrong labels, more training per epoch memorises them in fewer epochs. Against "
           "Keskar et al. the direction is reversed, under other conditions: they trained both "
           "batch sizes to similar training accuracy on clean labels, we stop every trial at "
           "the same epoch on noisy labels, where the small batches have made many more "
           "updates; that is Shallue et al.'s fixed-epoch budget seen from the other side."
           if updates_story else
           "Our verdicts do not single out the number of updates (more updates with the batch "
           f"fixed: {updates_only or 'not run'}; smaller batches at equal updates: "
           f"{batches_only or 'not run'}; epochs total: {total or 'not run'}; nothing but "
           f"where epochs end: {nothing or 'not run'}), so they neither confirm nor refute "
           "Hoffer et al.'s account here.")
    )


def _turns(turns: dict[int, float]) -> str:
    """Updates to the turn of the validation loss against the batch, Shallue et al.'s axis."""
    if len(turns) < 2:
        return ""
    small, large = min(turns), max(turns)
    to_small, to_large = turns[small], turns[large]
    trend = ("fewer" if to_large < to_small else "more" if to_large > to_small else "as many")
    return (f"Counted in updates, our validation loss was lowest after a median of "
            f"{to_small:,.0f} updates at batch {small} and {to_large:,.0f} at batch {large} "
            f"(a lower bound where it never turned): the larger batch needed {trend} "
            "updates to reach its turn. ")


def lower_bound(bound: str | None, checkpoints: str | None) -> str:
    """The steps-versus-epochs claim against how the literature counts training."""
    return (
        "Shallue et al. (2019) and Hoffer et al. (2017) count training in steps (updates), not "
        "epochs, because once the batch varies an epoch stops being a fixed amount of "
        "optimisation: Shallue et al.'s measure is steps to a target error, Hoffer et al.'s "
        "remedy is to match the number of updates. That is the second text's view of epochs "
        "as checkpoints. "
        + ("Ours agree: the updates run were always the smaller of the two bounds, and at "
           "equal updates, with the batch fixed, where the epochs ended made no difference "
           "larger than the seeds' noise."
           if bound == HELD and checkpoints != HELD else
           f"Our runs: the bound {bound or 'was not tested'}; at equal updates the epoch "
           f"boundaries {'mattered' if checkpoints == HELD else 'could not be told apart'}.")
    )
