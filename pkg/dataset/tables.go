package dataset

import (
	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

// The word lists and shares below are the whole "model" of the catalog. They
// are slices, never maps, so that every walk over them is in a fixed order.

// brands are the first words of most names ("Sunny Bike", "Golden Dragon
// Noodles").
var brands = []string{
	"Sunny", "Golden", "Jade", "Lucky", "Happy", "Little", "Blue", "Red",
	"Green", "Silver", "Bright", "Swift", "Smart", "Easy", "Merry", "Lotus",
	"Panda", "Dragon", "Phoenix", "Bamboo", "Pearl", "Cloud", "Star", "Moon",
	"River", "Mountain", "Spring", "Autumn", "Orange", "Peach", "Maple", "Tiger",
	"Crane", "Koi", "Ginkgo", "Plum", "Harbor", "Silk", "Lantern", "Willow",
	"Amber", "Coral", "Cedar", "Lychee", "Osmanthus", "Magpie", "Kite", "Summit",
}

// Games are named "<adjective> <noun> <genre>" or "<noun> <genre>"; the
// genre also says what the game is.
var (
	gameAdjectives = []string{
		"Tiny", "Super", "Happy", "Crazy", "Magic", "Pixel", "Lucky", "Mini",
		"Epic", "Sleepy", "Royal", "Cosmic", "Turbo", "Fluffy", "Brave", "Idle",
	}
	gameNouns = []string{
		"Panda", "Dragon", "Fruit", "Candy", "Block", "Jewel", "Kitten", "Bubble",
		"Tower", "Island", "Farm", "Ninja", "Knight", "Puzzle", "Word", "Dumpling",
		"Rocket", "Garden", "Castle", "Sushi",
	}
	gameGenres = []kind{
		{"Match", "a match-three puzzle"}, {"Merge", "a merge-and-build game"},
		{"Saga", "an adventure puzzle saga"}, {"Rush", "a quick arcade runner"},
		{"Quest", "a role-playing adventure"}, {"Legends", "a team battle arena"},
		{"Battle", "a multiplayer card battler"}, {"Blast", "a bubble shooter"},
		{"Tycoon", "an idle tycoon game"}, {"Run", "an endless runner"},
		{"Mahjong", "a classic mahjong game"}, {"Chess", "Chinese chess against friends"},
		{"Jump", "a one-tap jumping game"}, {"Defense", "a tower defence game"},
		{"Party", "a party game for friends"}, {"Pop", "a relaxing pop-it puzzle"},
	}
)

// kind is one line of business within a category: the last word(s) of the
// name and what the mini-program does, for the description.
type kind struct {
	noun string
	what string
}

// offerDef is an offer a mini-program may carry. p is used only for chain
// offers: the chance a chain of that kind has it.
type offerDef struct {
	id    string
	title string
	min   int32
	p     float64
}

// chainDef is a kind of business with many places: coffee chains,
// convenience stores, bike-share, banks, pharmacies...
type chainDef struct {
	kind
	offers []offerDef // when set, replaces the category offers
}

// audRule restricts the audience of a share p of a category's
// mini-programs. kinds, when set, replace the category's kinds so that the
// name says whom it is for; note is appended to the description.
type audRule struct {
	p       float64
	minAge  int32
	maxAge  int32
	genders []pb.Gender
	oses    []pb.OperatingSystem
	kinds   []kind
	note    string
}

// naming styles of a category.
const (
	styleBrand = iota // "<brand> [<brand>] <noun>"
	styleGame         // "<adjective> <noun> <genre>"
	styleCity         // "<city> <noun>, <brand> Road"
)

// catDef is everything the generator knows about one category.
type catDef struct {
	cat      pb.Category
	perMille int // share of the catalog, in thousandths
	style    int
	kinds    []kind
	chainP   float64 // chance a mini-program of the category is a chain
	chains   []chainDef
	rules    []audRule
	offerP   float64 // chance of carrying offers from the list below
	offers   []offerDef
	taglines []string
}

var (
	female  = []pb.Gender{pb.Gender_GENDER_FEMALE}
	male    = []pb.Gender{pb.Gender_GENDER_MALE}
	harmony = []pb.OperatingSystem{pb.OperatingSystem_OPERATING_SYSTEM_HARMONYOS}
	ios     = []pb.OperatingSystem{pb.OperatingSystem_OPERATING_SYSTEM_IOS}
	android = []pb.OperatingSystem{pb.OperatingSystem_OPERATING_SYSTEM_ANDROID}
)

// The bike-share chain: the demo's example of a credit-gated offer.
var (
	bikeShare          = chainDef{kind{"Bike", "dockless bike sharing"}, []offerDef{offerDepositWaived, offerFirstRideFree}}
	offerDepositWaived = offerDef{"deposit-waived", "Deposit waived", 650, 1}
	offerFirstRideFree = offerDef{"first-ride-free", "First ride free", 0, 0.5}
)

// categories is the category mix, largest share first. Games are about 28%
// of a real super-app catalog; government services are the smallest share.
var categories = []catDef{
	{
		cat: pb.Category_CATEGORY_GAMES, perMille: 280, style: styleGame,
		rules: []audRule{
			{p: 0.04, minAge: 18, note: "Contains mature content: players 18+ only."},
			{p: 0.03, minAge: 12, note: "Rated 12+."},
			{p: 0.015, genders: male},
			{p: 0.015, genders: female},
			{p: 0.015, oses: android, note: "Android only."},
			{p: 0.015, oses: ios, note: "iOS only."},
		},
		offerP:   0.05,
		offers:   []offerDef{{"starter-pack", "Free starter pack", 0, 0}, {"double-coins", "Double coins weekend", 0, 0}},
		taglines: []string{"Play instantly, no download needed.", "Challenge your friends and climb the leaderboard.", "New levels every week."},
	},
	{
		cat: pb.Category_CATEGORY_LIFESTYLE, perMille: 120,
		kinds: []kind{
			{"Laundry", "laundry pick-up and delivery"}, {"Home Cleaning", "home cleaning on demand"},
			{"Movers", "moving and removals"}, {"Repair", "appliance and phone repair"},
			{"Barber", "haircuts without the wait"}, {"Nail Studio", "manicures and nail art"},
			{"Pet Care", "pet grooming and boarding"}, {"Florist", "fresh flowers delivered"},
			{"Housekeeping", "housekeeping and nannies"}, {"Photo Studio", "portraits and ID photos"},
			{"Tailor", "tailoring and alterations"}, {"Locksmith", "keys cut and locks opened"},
			{"Dry Cleaning", "dry cleaning"}, {"Water Delivery", "bottled water delivery"},
			{"Car Wash", "car washing and detailing"}, {"Utilities", "paying water, power and gas bills"},
		},
		chainP: 0.015,
		chains: []chainDef{
			{kind{"Power Bank", "power bank rental"}, []offerDef{{"deposit-waived", "Deposit waived", 550, 1}}},
			{kind{"Parcel Lockers", "parcel lockers"}, nil},
			{kind{"Laundry", "self-service laundromats"}, nil},
		},
		rules: []audRule{
			{p: 0.04, genders: female, kinds: []kind{{"Beauty Salon", "facials and hair care for women"}, {"Lash Bar", "eyelash extensions"}}},
			{p: 0.015, genders: male, kinds: []kind{{"Barbershop", "classic men's haircuts and shaves"}, {"Gentlemen's Grooming", "grooming for men"}}},
			{p: 0.01, oses: harmony, note: "HarmonyOS only."},
		},
		offerP:   0.08,
		offers:   []offerDef{{"half-price-first", "Half price on your first service", 0, 0}, {"free-pickup", "Free pick-up", 0, 0}},
		taglines: []string{"Book in seconds, pay when it's done.", "Trusted by your neighbours.", "Same-day service."},
	},
	{
		cat: pb.Category_CATEGORY_SHOPPING, perMille: 110,
		kinds: []kind{
			{"Mart", "groceries and daily needs"}, {"Fashion", "clothes for every season"},
			{"Outlet", "brand outlet deals"}, {"Boutique", "designer clothing"},
			{"Electronics", "phones, laptops and gadgets"}, {"Books", "books and stationery"},
			{"Home Goods", "furniture and home goods"}, {"Fresh Market", "fresh fruit and vegetables"},
			{"Toys", "toys and games"}, {"Mall", "shops, dining and events"},
			{"Shoes", "shoes and sneakers"}, {"Optical", "glasses and contact lenses"},
			{"Tea Shop", "loose-leaf tea"}, {"Hardware", "tools and hardware"},
		},
		chainP: 0.06,
		chains: []chainDef{
			{kind{"Mart", "24-hour convenience stores"}, nil},
			{kind{"Supermarket", "supermarkets"}, nil},
			{kind{"Fresh", "fresh-food stores"}, nil},
			{kind{"Digital", "electronics stores"}, nil},
		},
		rules: []audRule{
			{p: 0.06, genders: female, kinds: []kind{{"Cosmetics", "make-up and skincare"}, {"Lingerie", "lingerie"}, {"Beauty", "beauty products for women"}}},
			{p: 0.01, oses: harmony, note: "HarmonyOS only."},
		},
		offerP: 0.12,
		offers: []offerDef{
			{"20-off-200", "¥20 off orders over ¥200", 0, 0}, {"pay-later", "Buy now, pay later", 650, 0},
			{"free-delivery", "Free delivery", 0, 0},
		},
		taglines: []string{"Order online, pick up in store.", "Delivered within the hour.", "Members save more."},
	},
	{
		cat: pb.Category_CATEGORY_FOOD, perMille: 90,
		kinds: []kind{
			{"Noodles", "hand-pulled noodles"}, {"Dumplings", "dumplings made to order"},
			{"Hotpot", "Sichuan hotpot"}, {"BBQ", "skewers and barbecue"},
			{"Tea House", "tea and snacks"}, {"Bakery", "bread and pastries"},
			{"Coffee", "specialty coffee"}, {"Milk Tea", "bubble tea"},
			{"Bistro", "Western-style dishes"}, {"Kitchen", "home-style cooking"},
			{"Dim Sum", "Cantonese dim sum"}, {"Rice Bowl", "rice bowls for lunch"},
			{"Canteen", "set meals"}, {"Grill", "grilled fish"}, {"Congee", "congee and buns"},
			{"Roast Duck", "roast duck"},
		},
		chainP: 0.06,
		chains: []chainDef{
			{kind{"Coffee", "coffee to go"}, nil},
			{kind{"Milk Tea", "bubble tea and fruit tea"}, nil},
			{kind{"Burger", "burgers and fries"}, nil},
			{kind{"Bakery", "bakeries"}, nil},
			{kind{"Fried Chicken", "fried chicken"}, nil},
			{kind{"Noodle House", "fast noodles"}, nil},
		},
		rules: []audRule{
			{p: 0.02, minAge: 18, kinds: []kind{{"Wine Bar", "wine and small plates"}, {"Craft Beer", "craft beer on tap"}, {"Baijiu Bar", "baijiu tasting"}}, note: "Guests 18+ only."},
		},
		offerP: 0.15,
		offers: []offerDef{
			{"10-off-first-order", "¥10 off first order", 0, 0}, {"free-drink", "Free drink with any meal", 0, 0},
			{"member-20-off", "20% off for members", 600, 0},
		},
		taglines: []string{"Order ahead and skip the queue.", "Delivered hot to your door.", "Loved by locals since day one."},
	},
	{
		cat: pb.Category_CATEGORY_TRANSPORT, perMille: 60,
		kinds: []kind{
			{"Taxi", "taxi hailing"}, {"Metro", "metro QR tickets"}, {"Bus", "real-time bus arrivals"},
			{"Parking", "parking spaces by the hour"}, {"Car Rental", "car rental"},
			{"Ride", "carpooling"}, {"Scooter", "e-scooter rental"}, {"Valet", "designated drivers"},
			{"Shuttle", "airport shuttles"}, {"Ferry", "ferry tickets"}, {"Driving", "car services"},
		},
		chainP: 0.08,
		chains: []chainDef{
			bikeShare,
			{kind{"Charge", "EV charging stations"}, nil},
			{kind{"Fuel", "petrol stations"}, nil},
			{kind{"Parking", "car parks"}, nil},
		},
		rules: []audRule{
			{p: 0.05, minAge: 18, kinds: []kind{{"Car Rental", "self-drive car rental"}, {"Car Sharing", "cars by the minute"}}, note: "Drivers 18+ with a licence."},
		},
		offerP: 0.1,
		offers: []offerDef{
			{"first-ride-free", "First ride free", 0, 0}, {"deposit-waived", "Deposit waived", 650, 0},
			{"5-off-ride", "¥5 off your next ride", 0, 0},
		},
		taglines: []string{"Scan the QR code and go.", "Pay per minute.", "Available around the clock."},
	},
	{
		cat: pb.Category_CATEGORY_ENTERTAINMENT, perMille: 60,
		kinds: []kind{
			{"Cinema", "movie tickets"}, {"KTV", "private karaoke rooms"}, {"Escape Room", "escape rooms"},
			{"Live House", "live music"}, {"Arcade", "arcade games"}, {"Theater", "plays and opera"},
			{"Board Games", "board game cafés"}, {"Comedy Club", "stand-up comedy"},
			{"Mystery Games", "murder-mystery role play"}, {"Bowling", "bowling lanes"},
			{"Tickets", "concert and show tickets"},
		},
		chainP: 0.01,
		chains: []chainDef{
			{kind{"Cinemas", "cinemas"}, nil},
			{kind{"KTV", "karaoke"}, nil},
		},
		rules: []audRule{
			{p: 0.08, minAge: 18, kinds: []kind{{"Lottery", "sports lottery tickets"}, {"Night Club", "club nights and DJs"}, {"Bar", "cocktails and live sports"}}, note: "Adults 18+ only."},
			{p: 0.01, oses: harmony, note: "HarmonyOS only."},
		},
		offerP: 0.1,
		offers: []offerDef{
			{"half-price-tuesday", "Half-price tickets on Tuesdays", 0, 0}, {"two-for-one", "Two for one", 0, 0},
		},
		taglines: []string{"Book seats in seconds.", "Tonight's best shows, near you.", "Fun for the whole group."},
	},
	{
		cat: pb.Category_CATEGORY_FINANCE, perMille: 50,
		kinds: []kind{
			{"Wallet", "mobile payments"}, {"Pay", "paying bills and friends"}, {"Wealth", "wealth management"},
			{"Insurance", "insurance"}, {"Fund", "mutual funds"}, {"Exchange", "currency exchange"},
			{"Savings", "savings accounts"}, {"Tax Refund", "tax refunds"},
		},
		chainP: 0.08,
		chains: []chainDef{
			{kind{"Bank", "bank branches and ATMs"}, nil},
			{kind{"Savings Bank", "savings bank branches"}, nil},
			{kind{"Insurance", "insurance service centres"}, nil},
		},
		rules: []audRule{
			{p: 0.25, minAge: 18, kinds: []kind{{"Loans", "personal loans"}, {"Credit", "credit cards"}, {"Lottery", "welfare lottery tickets"}, {"Stocks", "stock trading"}}, note: "For adults 18+ only."},
			{p: 0.02, oses: harmony, note: "HarmonyOS only."},
		},
		offerP: 0.1,
		offers: []offerDef{
			{"fee-free-transfer", "Fee-free transfers", 0, 0}, {"interest-free-30d", "30 days interest-free", 700, 0},
			{"cashback-5", "¥5 cashback", 0, 0},
		},
		taglines: []string{"Safe, fast and regulated.", "Manage your money in one place.", "No hidden fees."},
	},
	{
		cat: pb.Category_CATEGORY_TRAVEL, perMille: 50,
		kinds: []kind{
			{"Travel", "trip planning"}, {"Tours", "guided city tours"}, {"Hostel", "budget hostels"},
			{"Flights", "flight tickets"}, {"Rail Tickets", "train tickets"}, {"Trip", "weekend getaways"},
			{"Scenic Pass", "tickets to scenic spots"}, {"Resort", "resort stays"}, {"Homestay", "homestays"},
		},
		chainP: 0.02,
		chains: []chainDef{
			{kind{"Inn", "budget hotels"}, []offerDef{{"pay-after-stay", "Pay after your stay", 650, 0.6}}},
			{kind{"Hotels", "business hotels"}, []offerDef{{"pay-after-stay", "Pay after your stay", 650, 0.6}, {"free-cancellation", "Free cancellation", 0, 0.5}}},
		},
		rules: []audRule{
			{p: 0.02, minAge: 18, kinds: []kind{{"Hotel", "hotel rooms"}}, note: "Guests 18+ may check in alone."},
		},
		offerP: 0.1,
		offers: []offerDef{
			{"pay-after-stay", "Pay after your stay", 650, 0}, {"free-cancellation", "Free cancellation", 0, 0},
		},
		taglines: []string{"Best price guaranteed.", "Book now, pay later.", "Curated by local experts."},
	},
	{
		cat: pb.Category_CATEGORY_TOOLS, perMille: 45,
		kinds: []kind{
			{"Scanner", "document scanning"}, {"Translator", "instant translation"}, {"Notes", "notes and to-dos"},
			{"Weather", "hyper-local weather"}, {"Calculator", "everyday calculations"}, {"Converter", "unit conversion"},
			{"Timer", "timers and reminders"}, {"QR Maker", "QR code making"}, {"Compass", "a compass and level"},
			{"Cleaner", "freeing up phone storage"}, {"Photo Editor", "photo editing"}, {"PDF Tools", "PDF editing"},
		},
		rules: []audRule{
			{p: 0.08, oses: harmony, note: "HarmonyOS only."},
			{p: 0.03, oses: ios, note: "iOS only."},
			{p: 0.03, oses: android, note: "Android only."},
		},
		offerP:   0.02,
		offers:   []offerDef{{"pro-trial", "7-day Pro trial", 0, 0}},
		taglines: []string{"Light, fast and free.", "No sign-up needed.", "Works offline."},
	},
	{
		cat: pb.Category_CATEGORY_SOCIAL, perMille: 35,
		kinds: []kind{
			{"Circle", "interest groups"}, {"Chat", "group chat"}, {"Meetup", "local meetups"},
			{"Neighbors", "neighbourhood news"}, {"Club", "clubs and societies"}, {"Friends", "finding friends"},
			{"Community", "community boards"}, {"Events", "local events"},
		},
		rules: []audRule{
			{p: 0.1, minAge: 18, kinds: []kind{{"Dating", "dating"}, {"Singles", "singles events"}}, note: "Members 18+ only."},
			{p: 0.03, genders: female, kinds: []kind{{"Moms Club", "playdates and parenting tips for mums"}, {"Sisters", "a community for women"}}},
		},
		offerP:   0.02,
		offers:   []offerDef{{"vip-week", "Free VIP week", 0, 0}},
		taglines: []string{"Meet people near you.", "Safe and friendly.", "Join thousands of members."},
	},
	{
		cat: pb.Category_CATEGORY_EDUCATION, perMille: 35,
		kinds: []kind{
			{"Academy", "after-school classes"}, {"English", "English lessons"}, {"Tutor", "one-to-one tutoring"},
			{"Math Club", "maths practice"}, {"Piano School", "piano lessons"}, {"Coding Camp", "coding for beginners"},
			{"Library", "e-books and audiobooks"}, {"Art Studio", "drawing and painting"},
			{"Exam Prep", "exam preparation"}, {"Dance School", "dance classes"},
		},
		rules: []audRule{
			{p: 0.12, minAge: 12, maxAge: 17, kinds: []kind{{"Teen Tutor", "homework help for teenagers"}, {"Gaokao Prep", "gaokao exam preparation"}, {"Middle School Club", "clubs for middle-schoolers"}}, note: "For students aged 12 to 17."},
			{p: 0.05, minAge: 18, kinds: []kind{{"Driving School", "driving lessons"}, {"MBA Prep", "MBA entrance exam preparation"}}, note: "Adults 18+."},
			{p: 0.01, maxAge: 11, kinds: []kind{{"Kids Camp", "holiday camps for children"}}, note: "For children up to 11."},
		},
		offerP: 0.08,
		offers: []offerDef{
			{"free-trial-lesson", "Free trial lesson", 0, 0}, {"installments", "Interest-free installments", 650, 0},
		},
		taglines: []string{"Learn at your own pace.", "Certified teachers.", "First lesson on us."},
	},
	{
		cat: pb.Category_CATEGORY_HEALTH, perMille: 30,
		kinds: []kind{
			{"Clinic", "family doctors"}, {"Dental", "dental care"}, {"Hospital", "appointments and reports"},
			{"Health Check", "health check-ups"}, {"TCM Clinic", "traditional Chinese medicine"},
			{"Eye Care", "eye exams"}, {"Physio", "physiotherapy"}, {"Vaccines", "vaccination booking"},
		},
		chainP: 0.08,
		chains: []chainDef{
			{kind{"Pharmacy", "pharmacies"}, nil},
			{kind{"Dental", "dental clinics"}, nil},
			{kind{"Clinic", "walk-in clinics"}, nil},
		},
		rules: []audRule{
			{p: 0.08, genders: female, kinds: []kind{{"Maternity", "pregnancy check-ups"}, {"Women's Health", "gynaecology appointments"}}},
			{p: 0.03, minAge: 60, kinds: []kind{{"Elderly Care", "home care for the elderly"}, {"Senior Health", "check-ups for seniors"}}, note: "For seniors 60+."},
		},
		offerP:   0.06,
		offers:   []offerDef{{"free-consultation", "Free online consultation", 0, 0}},
		taglines: []string{"Book a doctor in minutes.", "Reports on your phone.", "Care close to home."},
	},
	{
		cat: pb.Category_CATEGORY_SPORTS, perMille: 20,
		kinds: []kind{
			{"Fitness", "gym workouts"}, {"Yoga", "yoga classes"}, {"Swim Club", "swimming pools"},
			{"Badminton", "badminton courts"}, {"Climbing", "bouldering"}, {"Tennis", "tennis courts"},
			{"Football", "five-a-side pitches"}, {"Boxing", "boxing classes"}, {"Running Club", "group runs"},
			{"Table Tennis", "table tennis"},
		},
		chainP: 0.03,
		chains: []chainDef{
			{kind{"Fitness", "24-hour gyms"}, nil},
			{kind{"Yoga", "yoga studios"}, nil},
		},
		rules: []audRule{
			{p: 0.05, genders: female, kinds: []kind{{"Ladies Fitness", "women-only gym sessions"}, {"Women's Yoga", "yoga classes for women"}}},
		},
		offerP: 0.1,
		offers: []offerDef{
			{"free-trial-class", "Free trial class", 0, 0}, {"pay-per-visit", "Pay per visit, no membership", 600, 0},
		},
		taglines: []string{"Book a court now.", "Train with the pros.", "No membership needed."},
	},
	{
		cat: pb.Category_CATEGORY_GOVERNMENT, perMille: 15, style: styleCity,
		kinds: []kind{
			{"Social Security", "social security records"}, {"Tax Service", "tax filing"},
			{"Traffic Police", "traffic fines and licences"}, {"Residence Permit", "residence permits"},
			{"Public Library", "library cards and loans"}, {"Citizen Services", "citizen services"},
			{"Housing Fund", "housing provident fund"}, {"Medical Insurance", "medical insurance"},
			{"Civil Affairs", "marriage and civil registration"}, {"Entry-Exit", "passports and visas"},
		},
		taglines: []string{"Official service.", "Skip the counter: do it online.", "Open 24/7 online."},
	},
}

// Roads for government offices ("Beijing Tax Service, Lotus Road").
const roadSuffix = " Road"
