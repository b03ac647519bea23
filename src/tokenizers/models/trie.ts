/**
 * A prefix trie over UTF-16 code units, used by WordPiece (longest match) and Unigram (all prefixes).
 *
 * Edges live in one open-addressing hash table keyed by (node, code unit) held in typed arrays, so a lookup
 * allocates nothing and hashes two small integers instead of a substring. Vocabulary strings are well-formed
 * Unicode, so a terminal is only ever reached at a code point boundary of the text being walked.
 */
export class CodeUnitTrie {
  /** Terminal value of each node (a token id), or -1 when no vocabulary string ends there. */
  private values: Int32Array = new Int32Array(64).fill(-1);
  private nodeCount = 1;
  private edgeCount = 0;
  private mask = 63;
  private edgeNodes: Int32Array = new Int32Array(64).fill(-1);
  private edgeCodes: Int32Array = new Int32Array(64);
  private edgeTargets: Int32Array = new Int32Array(64);

  /** The root node; walks start here. */
  static readonly ROOT = 0;

  /** Adds `key` with `value` (a later insert of the same key overwrites, like a HashMap insert). */
  insert(key: string, value: number): void {
    let node = CodeUnitTrie.ROOT;
    for (let i = 0; i < key.length; i++) {
      const code = key.charCodeAt(i);
      let next = this.child(node, code);
      if (next < 0) {
        next = this.addNode();
        this.addEdge(node, code, next);
      }
      node = next;
    }
    this.values[node] = value;
  }

  /** The node reached from `node` by the code unit `code`, or -1. */
  child(node: number, code: number): number {
    const mask = this.mask;
    let slot = hashEdge(node, code) & mask;
    while (true) {
      const slotNode = this.edgeNodes[slot]!;
      if (slotNode === -1) return -1;
      if (slotNode === node && this.edgeCodes[slot] === code) return this.edgeTargets[slot]!;
      slot = (slot + 1) & mask;
    }
  }

  /** The node reached from `node` by all code units of `path`, or -1. */
  walk(node: number, path: string): number {
    for (let i = 0; i < path.length && node >= 0; i++) node = this.child(node, path.charCodeAt(i));
    return node;
  }

  /** The value stored at `node` (-1 when no key ends there). */
  value(node: number): number {
    return this.values[node]!;
  }

  private addNode(): number {
    if (this.nodeCount === this.values.length) {
      const grown = new Int32Array(this.values.length * 2).fill(-1);
      grown.set(this.values);
      this.values = grown;
    }
    return this.nodeCount++;
  }

  private addEdge(node: number, code: number, target: number): void {
    // Keep the load factor under one half so probe runs stay short.
    if ((this.edgeCount + 1) * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
    const mask = this.mask;
    let slot = hashEdge(node, code) & mask;
    while (this.edgeNodes[slot] !== -1) slot = (slot + 1) & mask;
    this.edgeNodes[slot] = node;
    this.edgeCodes[slot] = code;
    this.edgeTargets[slot] = target;
    this.edgeCount++;
  }

  private rehash(capacity: number): void {
    const { edgeNodes, edgeCodes, edgeTargets } = this;
    this.edgeNodes = new Int32Array(capacity).fill(-1);
    this.edgeCodes = new Int32Array(capacity);
    this.edgeTargets = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < edgeNodes.length; i++) {
      const node = edgeNodes[i]!;
      if (node === -1) continue;
      let slot = hashEdge(node, edgeCodes[i]!) & this.mask;
      while (this.edgeNodes[slot] !== -1) slot = (slot + 1) & this.mask;
      this.edgeNodes[slot] = node;
      this.edgeCodes[slot] = edgeCodes[i]!;
      this.edgeTargets[slot] = edgeTargets[i]!;
    }
  }
}

function hashEdge(node: number, code: number): number {
  let h = Math.imul(node, 0x9e3779b1) ^ Math.imul(code, 0x85ebca6b);
  h ^= h >>> 15;
  return h >>> 0;
}
