package dataset

import (
	"errors"
	"fmt"
	"math"
)

// DefaultSigmaM is the standard deviation, in metres, of the place and user
// distribution around a city centre used when Spec.SigmaM is 0.
const DefaultSigmaM = 8000

// DefaultPlacesPerProgram is the mean number of places per mini-program used
// when Spec.PlacesPerProgram is 0.
const DefaultPlacesPerProgram = 1.5

// BenchMiniPrograms is the size of the benchmark catalog built by BenchSpec.
const BenchMiniPrograms = 1_000_000

// Spec describes one synthetic catalog. The same Spec always yields the same
// catalog, byte for byte.
type Spec struct {
	// Seed selects the catalog; two seeds give unrelated catalogs.
	Seed int64
	// MiniPrograms is how many mini-programs to generate (>= 0).
	MiniPrograms int
	// Cities are the centres the places cluster around (at least one).
	Cities []City
	// SigmaM is the standard deviation, in metres, of the 2D Gaussian that
	// spreads places (and query users) around a city centre; 0 means
	// DefaultSigmaM.
	SigmaM float64
	// PlacesPerProgram is the target mean number of places per
	// mini-program, in [1, 4]; 0 means DefaultPlacesPerProgram. It is
	// reached by sizing the chains (and a few small multi-site businesses);
	// 1 gives every mini-program exactly one place and turns chains off.
	PlacesPerProgram float64
}

// City is a centre around which places are spread.
type City struct {
	// Name is used in place labels and some names, 1 to 32 bytes.
	Name string
	// Lat and Lng are the WGS84 centre, in degrees.
	Lat, Lng float64
	// Weight is the relative share of places (and users) of the city,
	// >= 0; when every weight is 0 the cities are equally likely.
	Weight float64
}

// Real city centres. Weights are the rough number of residents of the city
// proper in millions (2020 census, rounded), so bigger cities get more
// places and more users.
var (
	beijing   = City{Name: "Beijing", Lat: 39.9042, Lng: 116.4074, Weight: 21.9}
	shanghai  = City{Name: "Shanghai", Lat: 31.2304, Lng: 121.4737, Weight: 24.9}
	guangzhou = City{Name: "Guangzhou", Lat: 23.1291, Lng: 113.2644, Weight: 18.7}
	shenzhen  = City{Name: "Shenzhen", Lat: 22.5431, Lng: 114.0579, Weight: 17.6}
	chengdu   = City{Name: "Chengdu", Lat: 30.5728, Lng: 104.0668, Weight: 16.0}
	chongqing = City{Name: "Chongqing", Lat: 29.5630, Lng: 106.5516, Weight: 16.0}
	hangzhou  = City{Name: "Hangzhou", Lat: 30.2741, Lng: 120.1551, Weight: 12.2}
	wuhan     = City{Name: "Wuhan", Lat: 30.5928, Lng: 114.3055, Weight: 12.3}
	xian      = City{Name: "Xi'an", Lat: 34.3416, Lng: 108.9398, Weight: 12.9}
	nanjing   = City{Name: "Nanjing", Lat: 32.0603, Lng: 118.7969, Weight: 9.3}
	tianjin   = City{Name: "Tianjin", Lat: 39.1256, Lng: 117.1909, Weight: 13.9}
	suzhou    = City{Name: "Suzhou", Lat: 31.2989, Lng: 120.5853, Weight: 12.7}
	zhengzhou = City{Name: "Zhengzhou", Lat: 34.7466, Lng: 113.6253, Weight: 12.6}
	changsha  = City{Name: "Changsha", Lat: 28.2282, Lng: 112.9388, Weight: 10.0}
	dongguan  = City{Name: "Dongguan", Lat: 23.0207, Lng: 113.7518, Weight: 10.5}
	shenyang  = City{Name: "Shenyang", Lat: 41.8057, Lng: 123.4315, Weight: 9.1}
	qingdao   = City{Name: "Qingdao", Lat: 36.0671, Lng: 120.3826, Weight: 10.1}
	hefei     = City{Name: "Hefei", Lat: 31.8206, Lng: 117.2272, Weight: 9.4}
	foshan    = City{Name: "Foshan", Lat: 23.0215, Lng: 113.1214, Weight: 9.5}
	kunming   = City{Name: "Kunming", Lat: 24.8801, Lng: 102.8329, Weight: 8.5}
)

// DemoCities returns the three cities of the demo catalog: Beijing, Shanghai
// and Shenzhen. The slice is new on every call.
func DemoCities() []City {
	return []City{beijing, shanghai, shenzhen}
}

// BenchCities returns the 20 cities of the benchmark catalog, the biggest
// Chinese cities by population. The slice is new on every call.
func BenchCities() []City {
	return []City{
		beijing, shanghai, guangzhou, shenzhen, chengdu,
		chongqing, hangzhou, wuhan, xian, nanjing,
		tianjin, suzhou, zhengzhou, changsha, dongguan,
		shenyang, qingdao, hefei, foshan, kunming,
	}
}

// DemoSpec is the catalog `aroundme serve --demo` seeds: n mini-programs
// over Beijing, Shanghai and Shenzhen, σ = 8 km, 1.5 places per program.
func DemoSpec(seed int64, n int) Spec {
	return Spec{
		Seed:             seed,
		MiniPrograms:     n,
		Cities:           DemoCities(),
		SigmaM:           DefaultSigmaM,
		PlacesPerProgram: DefaultPlacesPerProgram,
	}
}

// BenchSpec is the benchmark catalog: 1,000,000 mini-programs with about
// 1.5 million places over the 20 cities of BenchCities, σ = 8 km. Scale it
// down for tests by lowering MiniPrograms: every other property is kept.
func BenchSpec(seed int64) Spec {
	return Spec{
		Seed:             seed,
		MiniPrograms:     BenchMiniPrograms,
		Cities:           BenchCities(),
		SigmaM:           DefaultSigmaM,
		PlacesPerProgram: DefaultPlacesPerProgram,
	}
}

// Validate reports every problem of s at once, or nil when Generate and
// Queries accept it.
func (s Spec) Validate() error {
	var errs []error
	if s.MiniPrograms < 0 {
		errs = append(errs, fmt.Errorf("dataset: MiniPrograms %d < 0", s.MiniPrograms))
	}
	if len(s.Cities) == 0 {
		errs = append(errs, errors.New("dataset: no Cities"))
	}
	for i, c := range s.Cities {
		if len(c.Name) == 0 || len(c.Name) > 32 {
			errs = append(errs, fmt.Errorf("dataset: city %d: name %q must be 1 to 32 bytes", i, c.Name))
		}
		if !(c.Lat >= -90 && c.Lat <= 90) {
			errs = append(errs, fmt.Errorf("dataset: city %d (%s): latitude %v outside [-90, 90]", i, c.Name, c.Lat))
		}
		if !(c.Lng >= -180 && c.Lng <= 180) {
			errs = append(errs, fmt.Errorf("dataset: city %d (%s): longitude %v outside [-180, 180]", i, c.Name, c.Lng))
		}
		if !(c.Weight >= 0) || math.IsInf(c.Weight, 0) {
			errs = append(errs, fmt.Errorf("dataset: city %d (%s): weight %v must be finite and >= 0", i, c.Name, c.Weight))
		}
	}
	if !(s.SigmaM >= 0) || math.IsInf(s.SigmaM, 0) {
		errs = append(errs, fmt.Errorf("dataset: SigmaM %v must be finite and >= 0", s.SigmaM))
	}
	if s.PlacesPerProgram != 0 && !(s.PlacesPerProgram >= 1 && s.PlacesPerProgram <= 4) {
		errs = append(errs, fmt.Errorf("dataset: PlacesPerProgram %v outside [1, 4]", s.PlacesPerProgram))
	}
	return errors.Join(errs...)
}
