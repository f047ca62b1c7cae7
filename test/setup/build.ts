/**
 * Builds `dist/` once before the suite: the package and signal tests run the built program (as an
 * installed package does), and concurrent builds from several test files would race on the same files.
 */
import { execFileSync } from "node:child_process"

export default function setup(): void {
  execFileSync("npm", ["run", "build", "--silent"], { stdio: "inherit" })
}
