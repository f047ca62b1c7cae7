/**
 * A Map bounded in size: reading or writing a key makes it the most recent; past `max` entries the
 * least recently used go first. Used for every per-key state the library keeps (registry, sessions,
 * conversations, the simulator's cache).
 */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>()
  constructor(
    readonly max: number,
    /** called with what the bound pushes out (not with what is deleted) */
    private readonly onEvict?: (key: K, value: V) => void
  ) {}

  get size(): number {
    return this.map.size
  }

  /** the value, made most recent */
  get(key: K): V | undefined {
    const value = this.map.get(key)
    if (value === undefined) return undefined
    this.map.delete(key)
    this.map.set(key, value)
    return value
  }

  /** the least recently used entry, without touching its recency */
  oldest(): [K, V] | undefined {
    const first = this.map.entries().next()
    return first.done === true ? undefined : first.value
  }

  /** the value without touching its recency */
  peek(key: K): V | undefined {
    return this.map.get(key)
  }

  set(key: K, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    while (this.map.size > this.max) {
      const oldest = this.oldest()
      if (oldest === undefined) break
      this.map.delete(oldest[0])
      this.onEvict?.(oldest[0], oldest[1])
    }
  }

  /** the value under `key`, created with `make` when absent; made most recent */
  getOrCreate(key: K, make: () => V): V {
    const value = this.get(key) ?? make()
    this.set(key, value)
    return value
  }

  delete(key: K): boolean {
    return this.map.delete(key)
  }

  clear(): void {
    this.map.clear()
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries()
  }
}
