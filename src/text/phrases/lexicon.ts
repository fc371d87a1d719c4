/**
 * Word lists the phrase parser uses to correct compromise's tags where captions need a different reading
 * (colour words it tags as nouns, materials used as modifiers, compound nouns it splits). Lower-case.
 */

const set = (s: string): ReadonlySet<string> => new Set(s.trim().split(/\s+/));

/** Colour, pattern and shade words: always attributes when they modify a noun. */
export const COLOURS = set(`
  red green blue yellow purple white orange cyan black brown pink gray grey silver gold golden beige tan
  maroon navy teal turquoise violet magenta lavender ivory crimson scarlet blond blonde brunette dark light
  bright pale colorful colourful multicolored multicoloured multi-colored striped spotted checkered plaid
  dotted polka khaki olive lime burgundy indigo aqua amber bronze copper rainbow`);

/**
 * Materials. compromise tags most of them as nouns, so without this list "a metal pole" would become the
 * compound object "metal pole"; as modifiers they are attributes in ARO and in the method's reading.
 */
export const MATERIALS = set(`
  wooden wood metal metallic plastic glass stone brick leather paper cardboard concrete ceramic porcelain
  hardwood steel iron wicker denim cotton wool woolen woollen silk rubber marble tile tiled granite bamboo straw clay
  brass aluminum aluminium tin chrome velvet fur furry dirt gravel cement canvas rattan lace cloth`);

/**
 * Descriptive adjectives compromise may tag as nouns or verbs before a noun ("a snowy hill", "the sliced
 * bread", "a standing man").
 */
export const ADJECTIVES = set(`
  snowy leafy cloudy grassy sandy rocky fluffy sunny muddy foggy hairy dusty rusty shiny rainy stormy windy
  icy curly wavy bushy shaggy dirty messy tidy cozy hazy misty woody watery sticky crispy juicy bumpy hilly
  shady frosty grainy blurry fuzzy frilly glossy silky woolly wooly chubby skinny tiny busy empty leafless
  parked sliced striped paved folded cooked fried grilled baked toasted chopped broken closed opened lit
  frosted glazed dried peeled melted wrapped framed rusted cluttered crowded stacked
  tall short small large big huge little long old new young round square wet dry open bare ripe clean
  full`);

/** Words that are nouns when they end a noun phrase ("a red square", "an orange") and modifiers before one. */
export const AMBIGUOUS_HEADS = set(`
  orange square cross circle triangle star diamond light cream gold silver lime olive`);

/** Nouns ending in -ing that stay nouns; other -ing words after a noun are verbs ("a man riding a wave"). */
export const ING_NOUNS = set(`
  building buildings ceiling ceilings painting paintings clothing railing railings awning awnings frosting
  icing king kings ring rings wing wings swing swings string strings thing things evening morning pudding
  wedding sibling siblings bedding stuffing topping toppings dressing filling seating lighting siding
  paneling carving drawing drawings crossing landing sling spring ping earring earrings`);

/**
 * Nouns that are not objects when followed by "of" ("a photo of a dog", "on top of", "a group of people"):
 * the group is the noun after "of".
 */
export const CONTAINERS: ReadonlySet<string> = new Set([
  ...set(`
  photo photos picture pictures image images photograph photographs pic pics view views shot shots closeup
  close-up group groups pair pairs bunch bunches couple herd herds flock flocks lot lots number
  set sets pile piles stack stacks row rows line lines kind kinds type types sort sorts side sides top
  front back middle edge edges bottom end center centre piece pieces slice slices handful variety assortment
  collection display scene shot couple dozens dozen bunch crowd team fleet array series selection`),
  'close up',
]);

/** Copulas and copula-like verbs after which an adjective describes the subject ("the car is green"). */
export const COPULAS = set(`
  is are was were be been being am looks look looked appears appear appeared seems seem seemed remains
  remain stays stay becomes become painted colored coloured dyed`);

/** Participles that, after a copula, introduce the predicate adjective: "the wall is painted white". */
export const PAINT_VERBS = set(`painted colored coloured dyed`);

/** Copulas that take a plural subject: with them a predicate adjective goes to every coordinated subject. */
export const PLURAL_COPULAS = set(`are were look appear seem remain stay become`);

export const RELATIVES = set(`that which who`);
export const NEGATIONS = set(`not n't never no`);
export const CONJUNCTIONS = set(`and or & but nor`);
export const DETERMINERS = set(`
  a an the this that these those some each every another any my his her its our their your several many
  few both either neither`);
export const PREPOSITIONS = set(`
  of in on at with without by for from to into onto over under above below behind beside besides between
  near next across along around through inside outside toward towards against atop beneath underneath
  up down off out while during like`);

/** Words that are never objects even when compromise calls them nouns. */
export const NON_OBJECTS = set(`
  one ones someone something somebody anything everything nothing other others there here it thing things
  way ways time something another`);

/**
 * Multi-word nouns kept whole, mostly the COCO categories and what COCO captions say most often. The last
 * word may carry a plural ("traffic lights"). Listed where compromise mis-tags a part (the "light" of
 * "traffic light" is an adverb to it, "hot dog" starts with an adjective) or where a part would otherwise
 * read as an attribute ("stuffed animal").
 */
export const COMPOUND_NOUNS: readonly string[] = `
  traffic light|fire hydrant|stop sign|parking meter|sports ball|baseball bat|baseball glove|baseball cap|
  baseball player|baseball field|baseball game|tennis racket|tennis racquet|tennis ball|tennis court|
  tennis player|wine glass|hot dog|potted plant|dining table|cell phone|mobile phone|teddy bear|hair drier|
  hair dryer|tooth brush|ice cream|living room|bus stop|street sign|street light|street lamp|light pole|
  lamp post|fire truck|fire engine|police car|police officer|school bus|double decker bus|coffee table|
  coffee cup|coffee mug|table cloth|french fries|hot air balloon|ski slope|ski lift|ski pole|soccer ball|
  soccer player|soccer field|water bottle|cutting board|stuffed animal|parking lot|swimming pool|
  train station|train track|train tracks|railroad track|railroad tracks|computer monitor|computer mouse|
  laptop computer|remote control|flower pot|tree trunk|tree branch|palm tree|christmas tree|pine tree|
  birthday cake|wedding cake|shower curtain|toilet seat|toilet paper|paper towel|bath tub|picnic table|
  park bench|fire place|fire escape|motor bike|dirt bike|passenger train|freight train|sail boat|t shirt|
  tank top|bow tie|neck tie|sun glasses|rain coat|wrist watch|hand bag|back pack|suit case|surf board|
  skate board|snow board|city bus|close up|light house|frisbee golf|kitchen counter|kitchen sink|
  bathroom sink|orange juice|guinea pig|polar bear|teddy bears|living area|dining room|waiting room|
  pickup truck|grizzly bear|zebra crossing|cross walk|side walk`
  .split('|')
  .map((s) => s.trim().replace(/\s+/g, ' '))
  .filter((s) => s.length > 0);
