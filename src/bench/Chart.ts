/**
 * The `--chart` picture: an SVG line chart, written as text (no dependency for one chart kind).
 *
 * @since 0.1.0
 */

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/**
 * An SVG line chart of cost per turn, one line per strategy.
 *
 * @since 0.1.0
 * @category rendering
 */
export const svgChart = (
  title: string,
  series: ReadonlyArray<{ readonly label: string; readonly values: ReadonlyArray<number> }>
): string => {
  const width = 760
  const height = 420
  const left = 70
  const right = 200
  const top = 40
  const bottom = 50
  const plotW = width - left - right
  const plotH = height - top - bottom
  const n = Math.max(1, ...series.map((s) => s.values.length))
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values))
  const x = (i: number) => left + (n <= 1 ? plotW / 2 : (i / (n - 1)) * plotW)
  const y = (v: number) => top + plotH - (v / max) * plotH
  const colors = ["#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#1f77b4", "#17becf", "#7f7f7f"]
  const out: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="24" font-size="15">${escape(title)}</text>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`
  ]
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4
    out.push(
      `<line x1="${left}" y1="${y(v)}" x2="${left + plotW}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">$${v.toFixed(v < 0.1 ? 4 : 2)}</text>`
    )
  }
  for (let i = 0; i < n; i++) {
    out.push(`<text x="${x(i)}" y="${top + plotH + 18}" text-anchor="middle">${i + 1}</text>`)
  }
  out.push(`<text x="${left + plotW / 2}" y="${height - 10}" text-anchor="middle">turn</text>`)
  series.forEach((s, j) => {
    const color = colors[j % colors.length]!
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ")
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>`)
    for (const [i, v] of s.values.entries()) {
      out.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${color}"/>`)
    }
    out.push(
      `<line x1="${left + plotW + 16}" y1="${top + 10 + j * 20}" x2="${left + plotW + 36}" y2="${top + 10 + j * 20}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${left + plotW + 42}" y="${top + 14 + j * 20}">${escape(s.label)}</text>`
    )
  })
  out.push("</svg>")
  return out.join("\n")
}
