package dev.spool.cli;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code spool completion}: picocli's bash completion script for every command and option. */
@Command(name = "completion", mixinStandardHelpOptions = true,
    description = {"Print a bash (and zsh) completion script.",
        "Load it with: source <(spool completion), or save it under /etc/bash_completion.d/spool."})
final class CompletionCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    SpoolCli cli = SpoolCli.of(spec);
    cli.out().print(AutoComplete.bash("spool", spec.root().commandLine()));
    cli.out().flush();
    return ExitCodes.OK;
  }
}
