"""``kpirules completion SHELL``: the shell completion script, through click's own support.

Completion asks the program itself (``_KPIRULES_COMPLETE``), so commands, options and
choices added later complete without a new script.
"""

from __future__ import annotations

import click

from kpirules.cli.output import echo

SHELLS = ("bash", "zsh", "fish")
INSTALL = {
    "bash": 'eval "$(kpirules completion bash)"   # in ~/.bashrc',
    "zsh": 'eval "$(kpirules completion zsh)"    # in ~/.zshrc',
    "fish": "kpirules completion fish > ~/.config/fish/completions/kpirules.fish",
}


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def command(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    Install it:
      bash:  eval "$(kpirules completion bash)"   in ~/.bashrc
      zsh:   eval "$(kpirules completion zsh)"    in ~/.zshrc
      fish:  kpirules completion fish > ~/.config/fish/completions/kpirules.fish
    """
    from click.shell_completion import get_completion_class

    from kpirules.cli.main import cli

    completion_class = get_completion_class(shell)
    assert completion_class is not None  # click.Choice limits shell to the ones click knows
    completion = completion_class(cli, {}, "kpirules", "_KPIRULES_COMPLETE")
    echo(completion.source())
