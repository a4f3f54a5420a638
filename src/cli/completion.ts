import type { Command } from 'commander';

/** Every command chain ('' for the top, 'activation create', …) with the words that may follow it. */
export function completionTable(program: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const walk = (command: Command, chain: string) => {
    const words = [
      ...command.commands.map((sub) => sub.name()),
      ...command.options.flatMap((option) =>
        [option.long, option.short].filter((flag): flag is string => !!flag),
      ),
      '--help',
    ];
    table.set(chain, [...new Set(words)]);
    for (const sub of command.commands) walk(sub, chain ? `${chain} ${sub.name()}` : sub.name());
  };
  walk(program, '');
  return table;
}

const quoted = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`;

/**
 * A bash completion script generated from the command tree, so it never falls behind the verbs.
 * It walks the words typed so far to find the command chain, then offers that chain's words.
 */
export function bashCompletion(program: Command): string {
  const cases = [...completionTable(program)]
    .map(([chain, words]) => `    ${quoted(chain)}) echo ${quoted(words.join(' '))} ;;`)
    .join('\n');
  return `# openassist completion for bash: source <(openassist completion bash)
_openassist_words() {
  case "$1" in
${cases}
  esac
}
_openassist() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" chain="" next w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    next="\${chain:+$chain }$w"
    [[ -n "$(_openassist_words "$next")" ]] && chain="$next"
  done
  COMPREPLY=($(compgen -W "$(_openassist_words "$chain")" -- "$cur"))
}
complete -o default -F _openassist openassist
`;
}

/** zsh runs the same completion through its bash compatibility layer. */
export function zshCompletion(program: Command): string {
  return `#compdef openassist
# openassist completion for zsh: source <(openassist completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program).split('\n').slice(1).join('\n')}`;
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash or zsh)')
    .argument('<shell>', 'bash or zsh')
    .addHelpText('after', '\nExample:\n  openassist completion bash >> ~/.bashrc')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') {
        process.stderr.write(`openassist: completion supports bash and zsh, not "${shell}"\n`);
        process.exitCode = 2;
        return;
      }
      process.stdout.write(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });
}
