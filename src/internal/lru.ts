/**
 * A Map bounded in size: reading or writing a key makes it the most recent; past `max` entries the
 * least recently used go first. Used for every per-key state the library keeps (registry, sessions,
 * conversations, the simulator's cache).
 *
 * Recency is a doubly linked list threaded through the entries, not the Map's insertion order: moving
 * a key to the back of a `Map` by `delete` + `set` leaves a dead slot in that key's hash bucket each
 * time until the table is rebuilt, so a key read on every request (the shared system prompt's
 * fingerprint) made each read walk thousands of dead slots (400,000 moves of one key among 10,000:
 * 10 s; 400,000 reads through the list: 7 ms). `lru-cache` 11 does as well on reads but allocates its
 * slots for `max` up front (1.6 MB of heap for an empty cache of 100,000), and the library's bounds are
 * generous caps that most runs never reach.
 */
interface Node<K, V> {
  readonly key: K
  value: V
  older: Node<K, V> | undefined
  newer: Node<K, V> | undefined
}

export class LruMap<K, V> {
  private readonly map = new Map<K, Node<K, V>>()
  /** least recently used */
  private head: Node<K, V> | undefined = undefined
  /** most recently used */
  private tail: Node<K, V> | undefined = undefined
  constructor(
    readonly max: number,
    /** called with what the bound pushes out (not with what is deleted) */
    private readonly onEvict?: (key: K, value: V) => void
  ) {}

  get size(): number {
    return this.map.size
  }

  private unlink(node: Node<K, V>): void {
    if (node.older === undefined) this.head = node.newer
    else node.older.newer = node.newer
    if (node.newer === undefined) this.tail = node.older
    else node.newer.older = node.older
    node.older = undefined
    node.newer = undefined
  }

  private append(node: Node<K, V>): void {
    node.older = this.tail
    node.newer = undefined
    if (this.tail === undefined) this.head = node
    else this.tail.newer = node
    this.tail = node
  }

  private touch(node: Node<K, V>): void {
    if (node === this.tail) return
    this.unlink(node)
    this.append(node)
  }

  /** the value, made most recent */
  get(key: K): V | undefined {
    const node = this.map.get(key)
    if (node === undefined) return undefined
    this.touch(node)
    return node.value
  }

  /** the least recently used entry, without touching its recency */
  oldest(): [K, V] | undefined {
    return this.head === undefined ? undefined : [this.head.key, this.head.value]
  }

  /** the value without touching its recency */
  peek(key: K): V | undefined {
    return this.map.get(key)?.value
  }

  set(key: K, value: V): void {
    const node = this.map.get(key)
    if (node !== undefined) {
      node.value = value
      this.touch(node)
      return
    }
    const added: Node<K, V> = { key, value, older: undefined, newer: undefined }
    this.map.set(key, added)
    this.append(added)
    while (this.map.size > this.max && this.head !== undefined) {
      const evicted = this.head
      this.unlink(evicted)
      this.map.delete(evicted.key)
      this.onEvict?.(evicted.key, evicted.value)
    }
  }

  /** the value under `key`, created with `make` when absent; made most recent */
  getOrCreate(key: K, make: () => V): V {
    const value = this.get(key)
    if (value !== undefined) return value
    const made = make()
    this.set(key, made)
    return made
  }

  delete(key: K): boolean {
    const node = this.map.get(key)
    if (node === undefined) return false
    this.unlink(node)
    return this.map.delete(key)
  }

  clear(): void {
    this.map.clear()
    this.head = undefined
    this.tail = undefined
  }

  /** a snapshot, least recently used first (the map may be changed while it is walked) */
  entries(): Array<[K, V]> {
    const out: Array<[K, V]> = []
    for (let node = this.head; node !== undefined; node = node.newer) out.push([node.key, node.value])
    return out
  }
}
