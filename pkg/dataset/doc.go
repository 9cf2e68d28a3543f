// Package dataset generates synthetic, deterministic catalogs of
// mini-programs for the "mini-programs around me" service, and query points
// with user profiles to ask about them.
//
// Two catalogs are predefined. DemoSpec is what `aroundme serve --demo`
// seeds on first start (for example 50,000 mini-programs over Beijing,
// Shanghai and Shenzhen), so that a fresh server has something realistic to
// show. BenchSpec is the benchmark catalog: 1,000,000 mini-programs with
// about 1,500,000 places over the 20 biggest Chinese cities; Queries draws
// benchmark queries from the same spatial distribution, so that queries hit
// dense city centres as often as real users do.
//
// What the data models, and why:
//
//   - Space. Mini-programs are found by where their places are, so the place
//     distribution drives index cost. Each place is put in a city chosen by
//     weight (≈ population) and offset from its centre by a 2D Gaussian with
//     σ ≈ 8 km: density is highest downtown and falls off smoothly, and the
//     cities are far apart. A spatial index sees both crowded cells (tens of
//     thousands of places within a few km) and empty ones.
//   - Chains. Most mini-programs have one place, but a few percent are chains
//     (coffee, convenience stores, bike-share, banks, pharmacies, hotels...)
//     with tens to hundreds of places (a Pareto tail, capped at the API
//     limit of 1000) in one city, a few, or all of them. They make one
//     mini-program match at many places, which is what de-duplication and
//     "nearest place" logic must handle. Their sizes are tuned so that the
//     mean is Spec.PlacesPerProgram (1.5).
//   - Category mix. Shares follow a real super-app catalog: games ≈ 28%,
//     then life services and shopping, food, transport, entertainment,
//     finance, travel, tools, social, education, health, sports and
//     government. Names ("Golden Dragon Noodles", "Sunny Bike") come from
//     per-category word lists, so demo output is readable.
//   - Eligibility. A few percent of mini-programs restrict their audience:
//     18+ (loans, lotteries, bars, dating), 12–17 (teen tutoring), one gender
//     (maternity, cosmetics), one operating system (HarmonyOS-only tools).
//     Some carry offers gated by credit score. Item 0 is always the
//     AnchorName bike-share chain with a "Deposit waived" offer for credit
//     scores of 650 or more, the demo's example of a credit-gated perk.
//   - Ratings cluster at 3.5–4.8, popularity is log-normal (a few hits, a
//     long tail) and about 1% of mini-programs are hidden.
//
// Campaigns. GenerateCampaigns (BenchCampaignSpec: 100,000 for the
// performance goal) makes geofenced ad campaigns that promote the
// mini-programs of a catalog: fences of 200 m to 5 km centred like the
// places (same cities, same σ), so that downtown points lie in hundreds of
// fences; mostly circles, some polygons, a few with holes or excluded
// areas; most untargeted and always on, some bounded by age, gender, OS,
// credit score or dayparts; budgets no benchmark exhausts; CPM and CPC
// bids. Every campaign passes the API's validation. ProbeCampaigns makes
// 5 km circles from a stream of their own, to time campaign creation.
//
// Everything is reproducible: item i is generated from its own PCG stream
// seeded by (Spec.Seed, i), never from a clock or from map order, so the same
// Spec gives byte-identical messages, any prefix of a catalog is the smaller
// catalog, and 1,000,000 items take a few seconds with few allocations.
package dataset
