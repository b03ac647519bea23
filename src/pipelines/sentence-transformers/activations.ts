/**
 * The torch activation modules sentence-transformers names by import path: a Dense module's
 * `activation_function` and a cross-encoder's `activation_fn` (config.json). Both `torch.nn.Tanh` and
 * `torch.nn.modules.activation.Tanh` name the same class, as Python's import resolves them; short names
 * (`'sigmoid'`, `'identity'`) are accepted from callers too. Only torch classes load, as Python loads only those
 * without trust_remote_code.
 */
import { ConfigError, InputError, type ErrorContext } from '../../errors.js';

/** An element-wise activation over one vector (softmax is over the whole vector). */
export type ActivationFunction = (values: readonly number[]) => number[];

const erf = (x: number): number => {
  // Abramowitz–Stegun 7.1.26 is too coarse (1e-7 absolute) for 1e-6 agreement; this series/continued-fraction
  // pair is accurate to double rounding over the whole range.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = ax;
    let term = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  // erfc by Lentz's continued fraction for large |x|.
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const a = n / 2;
    d = ax + a * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = ax + a / c;
    if (c === 0) c = 1e-300;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return Math.sign(x) * (1 - erfc);
};

const elementWise =
  (fn: (x: number) => number): ActivationFunction =>
  (values) =>
    values.map(fn);

const ACTIVATIONS: Record<string, ActivationFunction> = {
  Identity: (values) => [...values],
  Sigmoid: elementWise((x) => 1 / (1 + Math.exp(-x))),
  Tanh: elementWise(Math.tanh),
  ReLU: elementWise((x) => Math.max(0, x)),
  GELU: elementWise((x) => 0.5 * x * (1 + erf(x / Math.SQRT2))),
  SiLU: elementWise((x) => x / (1 + Math.exp(-x))),
  Softmax: (values) => {
    const max = Math.max(...values);
    const exps = values.map((v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / sum);
  },
};

/** The module each class lives in, for `torch.nn.modules.<module>.<Class>` paths. */
const TORCH_MODULE: Record<string, string> = {
  Identity: 'linear',
  Sigmoid: 'activation',
  Tanh: 'activation',
  ReLU: 'activation',
  GELU: 'activation',
  SiLU: 'activation',
  Softmax: 'activation',
};

/** The supported names, for messages. */
export const ACTIVATION_NAMES: readonly string[] = Object.keys(ACTIVATIONS);

/** The class name a path or short name denotes, or undefined. */
function className(name: string): string | undefined {
  const direct = /^torch\.nn\.(?:modules\.([a-z_]+)\.)?([A-Za-z]+)$/.exec(name);
  if (direct) {
    const [, module, cls] = direct;
    if (!(cls in ACTIVATIONS)) return undefined;
    return module === undefined || TORCH_MODULE[cls] === module ? cls : undefined;
  }
  return ACTIVATION_NAMES.find((cls) => cls.toLowerCase() === name.toLowerCase());
}

/** The torch path Python writes for an activation (`torch.nn.modules.activation.Sigmoid`). */
export function activationPath(name: string): string {
  const cls = className(name);
  if (cls === undefined) throw new InputError(`unknown activation ${JSON.stringify(name)}`);
  return `torch.nn.modules.${TORCH_MODULE[cls]}.${cls}`;
}

/**
 * The activation a name denotes. A name from a file is a ConfigError naming the file and field; one from a caller
 * an InputError naming the argument (pass `{ argument }`).
 */
export function activationFunction(name: unknown, where: ErrorContext): ActivationFunction {
  const cls = typeof name === 'string' ? className(name) : undefined;
  if (cls !== undefined) return ACTIVATIONS[cls]!;
  const expected =
    `expected a torch activation (${ACTIVATION_NAMES.map((n) => `torch.nn.${n}`).join(', ')}, ` +
    `or a short name such as 'sigmoid'), got ${JSON.stringify(name)}`;
  if (where.argument !== undefined) throw new InputError(`${where.argument}: ${expected}`, where);
  const place = [where.file, where.field].filter(Boolean).join(': ');
  throw new ConfigError(`${place}: ${expected}`, where);
}
