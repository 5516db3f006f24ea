/** Markdown cells and the targets, printed with both sides of each ratio and met / not met. */

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
export const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

export interface Target {
  name: string;
  /** Both sides of the ratio (or the measured value and what it is compared with), as printed. */
  sides: string;
  /** The ratio or difference the goal is about; printed as `1.23x` unless `unit` says otherwise. */
  value: number;
  unit?: string;
  goal: string;
  /** undefined: not measured in this run. */
  met: boolean | undefined;
}

export function verdict(met: boolean | undefined): string {
  if (met === undefined) return 'not measured';
  return met ? 'met' : '**not met**';
}

export function targetLines(targets: Target[]): string[] {
  return [
    '## Targets (issues 10, 12 and 13), both sides measured in this run',
    '',
    row(['target', 'both sides', 'measured', 'goal', 'result']),
    row(['---', '---', '---:', '---', '---']),
    ...targets.map((t) =>
      row([
        t.name,
        t.sides,
        !Number.isFinite(t.value) ? '-' : `${fmt(t.value, 2)}${t.unit ?? 'x'}`,
        t.goal,
        verdict(t.met),
      ]),
    ),
  ];
}
