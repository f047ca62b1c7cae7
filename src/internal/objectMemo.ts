/**
 * A value memoized per object, kept on the object itself under a private symbol, as a non-enumerable
 * property (spread, `Object.assign`, `JSON.stringify`, canonical JSON and test equality do not see
 * it) that names the object it was computed for: a copy that does carry it (by property descriptors)
 * or an object that inherits it is another object, and misses. Objects that cannot take a property
 * (frozen, sealed, non-extensible) fall back to a `WeakMap`. Objects are treated as immutable values.
 *
 * Why not a `WeakMap` for all: the memos are set on every prompt block, message and request a
 * simulation builds — millions, most dying young — and V8 keeps a weak table's dead keys until a full
 * collection, so the tables grew to hundreds of thousands of entries between collections, every `set`
 * paying for the growth and every collection for the ephemerons (a turn's positions 60 → 21 µs;
 * docs/benchmarks.md, "Scale").
 */
interface Held<V> {
  readonly owner: object
  readonly value: V
}

export class ObjectMemo<V> {
  private readonly key: symbol
  private readonly fallback = new WeakMap<object, V>()
  constructor(name: string) {
    this.key = Symbol(name)
  }

  get(object: object): V | undefined {
    const held = (object as Record<symbol, Held<V> | undefined>)[this.key]
    if (held !== undefined) return held.owner === object ? held.value : undefined
    return this.fallback.get(object)
  }

  set(object: object, value: V): void {
    const held: Held<V> = { owner: object, value }
    if (Object.prototype.hasOwnProperty.call(object, this.key)) {
      ;(object as Record<symbol, Held<V>>)[this.key] = held
    } else if (Object.isExtensible(object)) {
      Object.defineProperty(object, this.key, { value: held, writable: true, enumerable: false, configurable: false })
    } else {
      this.fallback.set(object, value)
    }
  }
}
