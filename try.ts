import * as Effect from "effect/Effect"
import * as Soak from "./src/Soak.js"
let last = 0
const timer = setInterval(() => console.log(new Date().toISOString().slice(11, 19), "outcomes", last), 5000)
const a = await Effect.runPromise(Soak.run({ transport: "in-process", sessions: 50, turns: 2, fanOut: 5 }))
console.log(Soak.render(a))
const r = await Effect.runPromise(Soak.run({ transport: "http", sessions: 200, turns: 10, fanOut: 5, onProgress: (n) => (last = n) }))
clearInterval(timer)
console.log(Soak.render(r))
