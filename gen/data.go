package gen

// Reference data the generator draws from. Countries, currencies and cities are consistent
// with each other and with examples/contracts/lookups/country_regions.csv.

type country struct {
	code     string
	weight   int
	currency string
	phone    string // E.164 country prefix without '+'
	cities   []city
	first    []string
	last     []string
}

type city struct {
	name     string
	postcode []string
	streets  []string
}

var countries = []country{
	{"DE", 30, "EUR", "49", []city{
		{"Berlin", []string{"10115", "10117", "10243", "10405", "12043"}, []string{"Invalidenstraße", "Torstraße", "Karl-Marx-Allee", "Kastanienallee", "Sonnenallee"}},
		{"Hamburg", []string{"20095", "20354", "22765"}, []string{"Mönckebergstraße", "Große Bleichen", "Ottenser Hauptstraße"}},
		{"München", []string{"80331", "80469", "80802"}, []string{"Kaufingerstraße", "Müllerstraße", "Leopoldstraße"}},
		{"Köln", []string{"50667", "50672"}, []string{"Hohe Straße", "Ehrenstraße"}},
	}, []string{"Anna", "Lukas", "Sophie", "Jonas", "Marie", "Felix", "Lena", "Jürgen", "Käthe", "Paul"},
		[]string{"Schmidt", "Müller", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Schäfer"}},
	{"FR", 12, "EUR", "33", []city{
		{"Paris", []string{"75001", "75011", "75018"}, []string{"Rue de Rivoli", "Boulevard Voltaire", "Rue Lepic"}},
		{"Lyon", []string{"69001", "69002"}, []string{"Rue de la République", "Quai Saint-Antoine"}},
	}, []string{"Camille", "Louis", "Chloé", "Hugo", "Léa", "Théo"}, []string{"Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Garnier"}},
	{"GB", 10, "GBP", "44", []city{
		{"London", []string{"EC1A 1BB", "SW1A 2AA", "N1 9GU", "E2 7DG"}, []string{"Baker Street", "Old Street", "Upper Street", "Brick Lane"}},
		{"Manchester", []string{"M1 1AE", "M4 1HQ"}, []string{"Deansgate", "Oldham Street"}},
	}, []string{"Oliver", "Amelia", "George", "Isla", "Harry", "Ava"}, []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "O'Connor"}},
	{"NL", 7, "EUR", "31", []city{
		{"Amsterdam", []string{"1012 AB", "1015 CJ", "1072 AA"}, []string{"Damrak", "Prinsengracht", "Albert Cuypstraat"}},
		{"Utrecht", []string{"3511 AA"}, []string{"Oudegracht"}},
	}, []string{"Daan", "Emma", "Sem", "Julia", "Finn"}, []string{"de Jong", "Jansen", "de Vries", "van den Berg", "Bakker"}},
	{"AT", 5, "EUR", "43", []city{
		{"Wien", []string{"1010", "1070", "1150"}, []string{"Mariahilfer Straße", "Neubaugasse", "Kärntner Straße"}},
		{"Graz", []string{"8010"}, []string{"Herrengasse"}},
	}, []string{"Maximilian", "Anna", "Tobias", "Johanna"}, []string{"Gruber", "Huber", "Bauer", "Pichler"}},
	{"ES", 6, "EUR", "34", []city{
		{"Madrid", []string{"28001", "28013"}, []string{"Calle de Alcalá", "Gran Vía"}},
		{"Barcelona", []string{"08001", "08010"}, []string{"La Rambla", "Passeig de Gràcia"}},
	}, []string{"Lucía", "Hugo", "Martina", "Mateo"}, []string{"García", "Fernández", "López", "Martínez"}},
	{"IT", 6, "EUR", "39", []city{
		{"Milano", []string{"20121", "20123"}, []string{"Via Torino", "Corso Buenos Aires"}},
		{"Roma", []string{"00184", "00186"}, []string{"Via del Corso", "Via Nazionale"}},
	}, []string{"Giulia", "Leonardo", "Sofia", "Francesco"}, []string{"Rossi", "Russo", "Ferrari", "Esposito"}},
	{"PL", 5, "EUR", "48", []city{
		{"Warszawa", []string{"00-001", "00-950"}, []string{"Nowy Świat", "Marszałkowska"}},
		{"Kraków", []string{"30-001"}, []string{"Floriańska"}},
	}, []string{"Zofia", "Jakub", "Lena", "Antoni"}, []string{"Nowak", "Kowalski", "Wiśniewski", "Wójcik"}},
	{"SE", 4, "EUR", "46", []city{
		{"Stockholm", []string{"111 20", "113 30"}, []string{"Drottninggatan", "Götgatan"}},
	}, []string{"Alice", "William", "Maja", "Elias"}, []string{"Andersson", "Johansson", "Karlsson", "Nilsson"}},
	{"US", 10, "USD", "1", []city{
		{"New York", []string{"10001", "10013", "11211"}, []string{"Broadway", "Canal Street", "Bedford Avenue"}},
		{"Seattle", []string{"98101", "98122"}, []string{"Pike Street", "Pine Street"}},
		{"Austin", []string{"78701"}, []string{"Congress Avenue"}},
	}, []string{"James", "Olivia", "Noah", "Emma", "Liam", "Mia"}, []string{"Johnson", "Miller", "Davis", "Garcia", "Wilson", "Anderson"}},
	{"CA", 2, "USD", "1", []city{
		{"Toronto", []string{"M5V 2T6", "M4C 1B5"}, []string{"King Street West", "Queen Street East"}},
	}, []string{"Liam", "Charlotte", "Ethan"}, []string{"Tremblay", "Roy", "Gagnon"}},
	{"JP", 2, "USD", "81", []city{
		{"Tokyo", []string{"100-0005", "150-0002"}, []string{"Chuo-dori", "Omotesando"}},
	}, []string{"Haruto", "Yui", "Sota"}, []string{"Sato", "Suzuki", "Takahashi"}},
}

type product struct {
	sku   string
	name  string
	cents int64
}

var catalog = []product{
	{"SKU-10023", "Espresso cups, set of 4", 1999},
	{"SKU-10024", "Cappuccino cups, set of 2", 2450},
	{"SKU-10102", "Pour-over kettle 1.2l", 4990},
	{"SKU-10230", "Burr grinder \"Mahlwerk Pro\"", 12900},
	{"SKU-20011", "Milk jug 600ml", 1250},
	{"SKU-20417", "Milk frother, handheld", 3450},
	{"SKU-20533", "Descaler, 3 bottles", 749},
	{"SKU-31002", "Kaffeebohnen Röstung dunkel 1kg", 1290},
	{"SKU-31003", "Kaffeebohnen Röstung hell 1kg", 1390},
	{"SKU-31010", "Single origin Ethiopia Yirgacheffe 250g", 995},
	{"SKU-31011", "Single origin Colombia Huila 250g", 895},
	{"SKU-31044", "Decaf Swiss water 500g", 1150},
	{"SKU-32001", "Earl Grey loose leaf 100g", 650},
	{"SKU-32017", "Matcha ceremonial grade 30g", 2200},
	{"SKU-40981", "Paper filters size 4, 100 pcs", 349},
	{"SKU-40990", "Reusable steel filter", 1899},
	{"SKU-41200", "Cold brew bottle 1l", 2799},
	{"SKU-50001", "Gift card 25", 2500},
	{"SKU-50002", "Gift card 50", 5000},
	{"SKU-60310", "Barista apron, denim", 3900},
	{"SKU-60311", "Tamper 58mm, walnut handle", 4500},
	{"SKU-70007", "Espresso machine \"Dualboiler\" 230V", 129900},
	{"SKU-70015", "Knock box", 2199},
	{"SKU-80100", "Café au lait bowls (2)", 2390},
	{"SKU-80222", "Thermos mug 350ml – matte black", 2490},
}

var noteSentences = []string{
	"Bitte beim Nachbarn abgeben, falls niemand zu Hause ist.",
	"Leave the parcel with the neighbour if nobody is home.",
	"Door code 4711, third floor, no lift.",
	"Gift wrap please, it's a birthday present 🎁.",
	"Please deliver after 6 pm on weekdays.",
	"Merci de sonner deux fois.",
	"Customer called support about the delivery date; promised Friday.",
	"Fragile: glassware inside.",
	"Deliver to the reception desk, ask for \"Frau Weber\".",
	"Invoice to the company address, VAT ID DE123456789.",
	"Second order this month, apply loyalty discount next time.",
	"Ring the bell marked 'Studio B'.",
	"No plastic packaging if possible.",
	"Tel. bei Rückfragen: 030 123456.",
	"Por favor, entregar por la mañana.",
	"Consegnare al portiere.",
	"Back door, next to the garage.",
	"Replacement for the damaged item from order last week.",
}

var emailDomains = []string{"example.com", "example.org", "example.net", "mail.example.de", "post.example.fr"}

var testCards = []string{"4111111111111111", "5555555555554444", "378282246310005", "4000056655665556", "6011111111111117"}

var customerTags = []string{"vip", "newsletter", "b2b", "early_adopter", "churn_risk", "wholesale"}

// ascii folds the letters used in the name pools to ASCII for e-mail local parts.
var ascii = map[rune]string{'ä': "ae", 'ö': "oe", 'ü': "ue", 'ß': "ss", 'é': "e", 'è': "e", 'ê': "e", 'ç': "c",
	'á': "a", 'í': "i", 'ó': "o", 'ú': "u", 'ñ': "n", 'ś': "s", 'ł': "l", 'ń': "n", 'ć': "c", 'ż': "z",
	'Ä': "ae", 'Ö': "oe", 'Ü': "ue", 'É': "e", 'Ś': "s", '\'': "", ' ': ""}
