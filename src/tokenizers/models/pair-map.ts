/**
 * A map from a pair of token ids to a non-negative integer (a merge rank), stored in typed arrays with open
 * addressing, so the BPE merge loop looks pairs up without building string or float keys.
 */
export class PairMap {
  private mask: number;
  private firsts: Int32Array;
  private seconds: Int32Array;
  private values: Int32Array;
  private count = 0;

  constructor(expectedSize = 16) {
    let capacity = 16;
    while (capacity < expectedSize * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.firsts = new Int32Array(capacity).fill(-1);
    this.seconds = new Int32Array(capacity);
    this.values = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** The value stored for (first, second), or -1. */
  get(first: number, second: number): number {
    const mask = this.mask;
    let slot = hashPair(first, second) & mask;
    while (true) {
      const slotFirst = this.firsts[slot]!;
      if (slotFirst === -1) return -1;
      if (slotFirst === first && this.seconds[slot] === second) return this.values[slot]!;
      slot = (slot + 1) & mask;
    }
  }

  /** Stores `value` for (first, second), replacing an earlier value like a HashMap insert. */
  set(first: number, second: number, value: number): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const mask = this.mask;
    let slot = hashPair(first, second) & mask;
    while (true) {
      const slotFirst = this.firsts[slot]!;
      if (slotFirst === -1) {
        this.firsts[slot] = first;
        this.seconds[slot] = second;
        this.values[slot] = value;
        this.count++;
        return;
      }
      if (slotFirst === first && this.seconds[slot] === second) {
        this.values[slot] = value;
        return;
      }
      slot = (slot + 1) & mask;
    }
  }

  private grow(): void {
    const { firsts, seconds, values } = this;
    const capacity = (this.mask + 1) * 2;
    this.mask = capacity - 1;
    this.firsts = new Int32Array(capacity).fill(-1);
    this.seconds = new Int32Array(capacity);
    this.values = new Int32Array(capacity);
    this.count = 0;
    for (let i = 0; i < firsts.length; i++) {
      if (firsts[i] !== -1) this.set(firsts[i]!, seconds[i]!, values[i]!);
    }
  }
}

function hashPair(first: number, second: number): number {
  let h = Math.imul(first, 0x9e3779b1) ^ Math.imul(second, 0x85ebca6b);
  h ^= h >>> 16;
  return h >>> 0;
}
