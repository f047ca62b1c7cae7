/**
 * The ready-made stack on the simulator: the {@link Pipeline} and every service it needs over a
 * fresh {@link SimulatedProvider}, for users' own tests (with `TestClock`) and offline runs. It lives
 * in the simulator's wing so that the core never loads the simulator.
 *
 * @since 0.1.0
 */
import * as Layer from "effect/Layer"
import * as Pipeline from "../Pipeline.js"
import * as SimulatedProvider from "./SimulatedProvider.js"

/**
 * The pipeline's services (exposed too, for metrics and inspection), the simulated `LanguageModel`
 * and the `Simulator` handle.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: Pipeline.Config = {}, simulator: SimulatedProvider.SimulatorConfig = {}) =>
  Pipeline.layer(config).pipe(Layer.provideMerge(SimulatedProvider.layer(simulator)))
