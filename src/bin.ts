#!/usr/bin/env node
import * as Effect from "effect/Effect"
import { demo } from "./Demo.js"
import * as SimulatedProvider from "./SimulatedProvider.js"
import * as VirtualTime from "./VirtualTime.js"

Effect.runPromise(VirtualTime.run(demo).pipe(Effect.provide(SimulatedProvider.layer()))).catch((e) => {
  console.error(String(e))
  process.exit(1)
})
