import type { Terminal } from '@xterm/xterm';

export interface XtermScreen {
  readonly terminal: Terminal;
  dispose(): void;
}

// The console's output colours (console.css .output), so a terminal reads like the other logs.
const theme = { background: '#111820', foreground: '#e6edf3', cursor: '#e6edf3' };

/**
 * An xterm.js terminal filling `container`, refitted whenever the container's size changes (the
 * window's resize included); xterm's onResize then says the new columns and rows. xterm.js is
 * loaded here, on first use (its own chunk, three times the rest of the console), not with every page.
 */
export async function openXtermScreen(
  container: HTMLElement,
  { readOnly }: { readonly readOnly: boolean },
): Promise<XtermScreen> {
  const [{ Terminal }, { FitAddon }] = await Promise.all([
    import('@xterm/xterm'),
    import('@xterm/addon-fit'),
  ]);
  const terminal = new Terminal({
    theme,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: 14,
    // Rows a little taller than the glyphs: at 1.0 each row clips the underscores of the row's text.
    lineHeight: 1.2,
    // 5,000 lines: a long recording scrolls back far without holding every line of it.
    scrollback: 5000,
    disableStdin: readOnly,
    cursorBlink: !readOnly,
    cursorInactiveStyle: readOnly ? 'none' : 'outline',
  });
  const fit = new FitAddon();
  terminal.loadAddon(fit);
  terminal.open(container);
  fit.fit();
  // A frame later: fitting inside the observer's callback would resize within layout.
  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => fit.fit());
  });
  observer.observe(container);
  return {
    terminal,
    dispose() {
      observer.disconnect();
      cancelAnimationFrame(frame);
      terminal.dispose();
    },
  };
}
