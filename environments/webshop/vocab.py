"""The words the synthetic catalog is made of: five departments, their product types.

The original WebShop scraped Amazon for five departments (beauty, food, fashion,
furniture, electronics) with search queries such as "deodorant" or "office chair".
This module holds, per department, the brands and shared attributes, and per
product type its query, category path, title words, attributes, option groups
and price range. :mod:`.catalog` draws products from it.

Conventions the shop relies on (checked by the tests): option values are
lowercase (as the original loader lowercases them), no value appears in two
option groups of one type, and none equals a button label of the item page.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProductType:
    """One kind of product, e.g. a deodorant or an office chair."""

    noun: str
    query: str
    path: str  # category levels below the department, separated by " > "
    forms: tuple[str, ...]
    descriptors: tuple[str, ...]
    attributes: tuple[str, ...]
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    price: tuple[float, float] = (5.0, 50.0)


@dataclass(frozen=True)
class Department:
    """One of the five original departments."""

    name: str
    root: str
    brands: tuple[str, ...]
    attributes: tuple[str, ...]
    uses: tuple[str, ...]
    praise: tuple[str, ...]
    types: tuple[ProductType, ...]


def _t(*words: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in ",".join(words).split(",") if w.strip())


SIZES_CLOTHES = _t("x-small, small, medium, large, x-large, xx-large, 3x-large")
COLORS_CLOTHES = _t(
    "black, white, navy blue, heather grey, olive green, burgundy, light blue, khaki, "
    "charcoal, dusty pink, mustard yellow, red plaid, green stripe, camo"
)
COLORS_HOME = _t("black, white, espresso, walnut, grey, natural oak, navy, beige, rustic brown")
COLORS_TECH = _t("black, white, silver, space gray, rose gold, midnight blue, red, mint green")

BEAUTY = Department(
    name="beauty",
    root="Beauty & Personal Care",
    brands=_t(
        "Earth Mama, Native, Lumiere Botanics, Pure Harmony, Olivia Rose, Dr. Teal, Bellacura, "
        "Sunday Grove, Aveline, Maple Holistics, NaturaBloom, Seraphine, Velvet Fox, Cosmo Lane, "
        "Herbal Essentia, Ivy & Oak, Rosalind, Mira Bella, Coastal Scents, Glow Theory"
    ),
    attributes=_t(
        "long lasting, paraben free, cruelty free, natural ingredients, sensitive skin, "
        "easy to use, travel size, dermatologist tested, fragrance free, high quality"
    ),
    uses=_t("daily use, sensitive skin, dry skin, travel, men, women, teens"),
    praise=_t(
        "smells amazing and lasts all day, gentle on my skin, worth every penny, "
        "my go-to product now, a little goes a long way, arrived quickly and well packed"
    ),
    types=(
        ProductType(
            "Deodorant",
            "deodorant",
            "Personal Care > Deodorants & Antiperspirants > Deodorants",
            _t("Stick, Spray, Roll-On, Cream"),
            _t("Aluminum Free, Natural, Clinical Strength, Organic, Baking Soda Free"),
            _t("aluminum free, 24 hour protection, baking soda free, vegan, non toxic"),
            {
                "scent": _t(
                    "bright citrus, ginger fresh, lavender, unscented, coconut vanilla, "
                    "cedar & patchouli, eucalyptus mint"
                ),
                "size": _t(
                    "2.6 ounce (pack of 1), 3 ounce (pack of 1), 2.65 ounce (pack of 2), travel set (4-pack)"
                ),
            },
            (5.0, 30.0),
        ),
        ProductType(
            "Shampoo",
            "shampoo",
            "Hair Care > Shampoo & Conditioner > Shampoos",
            _t("and Conditioner Set, Bar, -, Concentrate"),
            _t("Sulfate Free, Moisturizing, Volumizing, Clarifying, Argan Oil"),
            _t("sulfate free, color safe, hair growth, dry hair, tea tree, argan oil"),
            {
                "scent": _t("tea tree, argan oil, coconut milk, rosemary mint, unscented"),
                "size": _t(
                    "8 fl oz (pack of 1), 16 fl oz (pack of 1), 33.8 fl oz (pack of 1), 16 fl oz (pack of 2)"
                ),
            },
            (6.0, 45.0),
        ),
        ProductType(
            "Lipstick",
            "lipstick",
            "Makeup > Lips > Lipstick",
            _t("Set, -, Crayon"),
            _t("Matte, Long Wear, Velvet, Satin Finish, Hydrating"),
            _t("long wear, matte finish, highly pigmented, moisturizing, transfer proof"),
            {"color": _t("ruby red, nude beige, berry wine, coral, mauve pink, plum, brick")},
            (4.0, 28.0),
        ),
        ProductType(
            "Face Moisturizer",
            "face moisturizer",
            "Skin Care > Face > Creams & Moisturizers",
            _t("Cream, Lotion, Gel"),
            _t("Hyaluronic Acid, Oil Free, Anti Aging, Vitamin C, Night"),
            _t("hyaluronic acid, oil free, anti aging, fine lines, non comedogenic, spf 30"),
            {"size": _t("1.7 ounce, 2.5 ounce, 4 ounce, 1.7 ounce (pack of 2)")},
            (8.0, 60.0),
        ),
        ProductType(
            "Hair Extensions",
            "hair extensions",
            "Hair Care > Hair Extensions, Wigs & Accessories",
            _t("Clip In, Tape In, Halo"),
            _t("Long Straight, Wavy, Synthetic, Human Hair, Natural Looking"),
            _t("natural looking, clip in, heat resistant, easy to apply, human hair"),
            {
                "color": _t("natural black, dark brown, ash blonde, auburn, honey blonde, ombre grey"),
                "size": _t("16 inch, 20 inch, 24 inch"),
            },
            (12.0, 90.0),
        ),
        ProductType(
            "Nail Polish",
            "nail polish",
            "Foot, Hand & Nail Care > Nail Art & Polish",
            _t("Set, Kit, -"),
            _t("Gel, Quick Dry, Non Toxic, Glitter, Chip Resistant"),
            _t("quick dry, non toxic, chip resistant, long lasting shine, gel polish"),
            {
                "color": _t("cherry red, soft pink, midnight navy, pearl white, gold glitter, sage green"),
                "size": _t("0.5 fl oz, 6 count, 12 count"),
            },
            (4.0, 35.0),
        ),
        ProductType(
            "Eau de Parfum",
            "perfume",
            "Fragrance > Women's > Eau de Parfum",
            _t("Spray, Rollerball, -"),
            _t("Floral, Woody, Fresh, Oriental, Citrus"),
            _t("long lasting, floral scent, travel size, gift set, alcohol free"),
            {"size": _t("1 fl oz, 1.7 fl oz, 3.4 fl oz, 6.76 fl oz (pack of 1)")},
            (15.0, 120.0),
        ),
        ProductType(
            "Mineral Sunscreen",
            "sunscreen",
            "Skin Care > Sun > Sunscreens & Tanning Products",
            _t("Lotion, Stick, Spray"),
            _t("Reef Safe, Water Resistant, Broad Spectrum, Tinted, Zinc Oxide"),
            _t("reef safe, water resistant, broad spectrum, zinc oxide, sensitive skin"),
            {"size": _t("3 fl oz, 5 fl oz, 3 fl oz (pack of 2)")},
            (7.0, 40.0),
        ),
    ),
)

FOOD = Department(
    name="food",
    root="Grocery & Gourmet Food",
    brands=_t(
        "Sweet Logic, Happy Belly, Kind Harvest, Nature's Path, Blue Ridge Farms, Mountain Peak, "
        "Wild Acre, Golden Hive, Sunny Valley, Highland Roasters, True Grain, Pacific Crest, "
        "Farmhouse Pantry, Little Orchard, Urban Spice, Green Meadow"
    ),
    attributes=_t(
        "gluten free, non gmo, keto friendly, low carb, sugar free, usda organic, "
        "high protein, natural ingredients, ready to eat, individually wrapped"
    ),
    uses=_t("snacking, breakfast, parties, the office, kids, road trips"),
    praise=_t(
        "tastes great and fresh, my kids love it, perfect for snacking, "
        "great value for the price, will buy again, packed well and arrived fresh"
    ),
    types=(
        ProductType(
            "Whole Bean Coffee",
            "coffee",
            "Beverages > Coffee, Tea & Cocoa > Coffee > Whole Coffee Beans",
            _t("Medium Roast, Dark Roast, Light Roast"),
            _t("Single Origin, Fair Trade, Organic, Colombian, Espresso"),
            _t("fair trade, usda organic, medium roast, single origin, low acid"),
            {"size": _t("12 ounce (pack of 1), 2 pound (pack of 1), 12 ounce (pack of 3)")},
            (8.0, 45.0),
        ),
        ProductType(
            "Protein Bars",
            "protein bars",
            "Snack Foods > Bars > Protein",
            _t("-, Variety Pack"),
            _t("Low Sugar, Plant Based, Keto, Whey, Chewy"),
            _t("high protein, low sugar, plant based, gluten free, individually wrapped"),
            {
                "flavor": _t(
                    "chocolate peanut butter, cookies & cream, birthday cake, salted caramel, almond coconut"
                ),
                "size": _t("12 count (pack of 1), 1.8 ounce (pack of 12), 24 count"),
            },
            (12.0, 40.0),
        ),
        ProductType(
            "Beef Jerky",
            "beef jerky",
            "Meat & Seafood > Jerky & Dried Meats",
            _t("-, Sticks, Bites"),
            _t("Grass Fed, Original, Teriyaki, Peppered, Sweet & Spicy"),
            _t("grass fed, high protein, low sugar, ready to eat, no preservatives"),
            {
                "flavor": _t("original, teriyaki, black pepper, sweet & spicy, hickory smoked"),
                "size": _t("2.85 ounce (pack of 4), 10 ounce (pack of 1), 1 ounce (pack of 12)"),
            },
            (7.0, 45.0),
        ),
        ProductType(
            "Herbal Tea",
            "herbal tea",
            "Beverages > Coffee, Tea & Cocoa > Tea > Herbal",
            _t("Bags, Loose Leaf, Sampler"),
            _t("Caffeine Free, Organic, Calming, Detox, Sleep"),
            _t("caffeine free, usda organic, non gmo, calming blend, compostable bags"),
            {
                "flavor": _t("chamomile, peppermint, lemon ginger, hibiscus berry, rooibos vanilla"),
                "size": _t("20 count (pack of 6), 40 count, 100 count"),
            },
            (5.0, 30.0),
        ),
        ProductType(
            "Keto Baking Mix",
            "baking mix",
            "Pantry Staples > Cooking & Baking > Baking Mixes",
            _t("-, Muffin Mix, Pancake Mix"),
            _t("Keto, Low Carb, Gluten Free, Almond Flour, Sugar Free"),
            _t("keto friendly, low carb, gluten free, sugar free, all natural ingredients"),
            {
                "flavor": _t("blueberry, triple chocolate, vanilla, banana nut, cinnamon"),
                "size": _t("9.5 ounce (pack of 1), 9.5 ounce (pack of 3)"),
            },
            (6.0, 35.0),
        ),
        ProductType(
            "Mixed Nuts",
            "mixed nuts",
            "Snack Foods > Nuts & Seeds > Mixed Nuts",
            _t("-, Trail Mix"),
            _t("Roasted, Lightly Salted, Unsalted, Raw, Honey Roasted"),
            _t("lightly salted, non gmo, resealable bag, high protein, kosher"),
            {"size": _t("1 pound, 2.5 pound, 1.5 ounce (pack of 24)")},
            (9.0, 40.0),
        ),
        ProductType(
            "Dark Chocolate",
            "dark chocolate",
            "Snack Foods > Candy & Chocolate > Chocolate Bars",
            _t("Bar, Squares, Truffles"),
            _t("70% Cacao, Organic, Sea Salt, Fair Trade, Sugar Free"),
            _t("fair trade, usda organic, dairy free, low sugar, individually wrapped"),
            {
                "flavor": _t("sea salt, raspberry, mint, orange, almond"),
                "size": _t("3 ounce (pack of 12), 3.5 ounce (pack of 4)"),
            },
            (8.0, 45.0),
        ),
        ProductType(
            "Pasta Sauce",
            "pasta sauce",
            "Pantry Staples > Sauces, Gravies & Marinades > Pasta Sauces",
            _t("-, Marinara"),
            _t("Tomato Basil, Roasted Garlic, Arrabbiata, Vodka, Organic"),
            _t("no sugar added, non gmo, vegan, usda organic, keto friendly"),
            {"size": _t("24 ounce (pack of 1), 24 ounce (pack of 2), 25 ounce (pack of 6)")},
            (4.0, 35.0),
        ),
    ),
)

FASHION = Department(
    name="fashion",
    root="Clothing, Shoes & Jewelry",
    brands=_t(
        "Amazon Essentials, Hanes Classic, Wrangler Ridge, Levon, Northfield, Cozy Peak, "
        "Urban Drift, "
        "Blue Harbor, Sierra Trail, Maison Clair, Vera Lane, Dockside, Kestrel, Riverstone, "
        "Oak & Thread, Pinecrest"
    ),
    attributes=_t(
        "machine wash, slim fit, relaxed fit, long sleeve, short sleeve, button closure, "
        "polyester spandex, cotton blend, daily wear, quality materials"
    ),
    uses=_t("daily wear, work, the gym, weekends, travel, outdoor activities"),
    praise=_t(
        "fits true to size, very comfortable and soft, the color is exactly as pictured, "
        "washes well without shrinking, great quality for the price, I ordered two more"
    ),
    types=(
        ProductType(
            "Dress Shirt",
            "men's dress shirts",
            "Men > Clothing > Shirts > Dress Shirts",
            _t("-, Button Down"),
            _t("Regular Fit, Wrinkle Free, Stretch, Oxford, Classic"),
            _t("wrinkle free, button closure, long sleeve, slim fit, machine wash"),
            {"color": COLORS_CLOTHES[:10], "size": SIZES_CLOTHES},
            (15.0, 60.0),
        ),
        ProductType(
            "Jeans",
            "women's jeans",
            "Women > Clothing > Jeans",
            _t("-, Skinny, Bootcut, Straight Leg"),
            _t("High Waisted, Stretch, Distressed, Classic, Mid Rise"),
            _t("high waist, stretch denim, button closure, machine wash, slim fit"),
            {
                "color": _t("light wash, medium wash, dark rinse, stonewash black, white denim"),
                "size": _t("0, 2, 4, 6, 8, 10, 12, 14, 16"),
            },
            (20.0, 70.0),
        ),
        ProductType(
            "Jumpsuit",
            "women's jumpsuits, rompers & overalls",
            "Women > Clothing > Jumpsuits, Rompers & Overalls",
            _t("-, Romper"),
            _t("Casual, Wide Leg, Sleeveless, Belted, Summer"),
            _t("short sleeve, high waist, polyester spandex, daily wear, wide leg"),
            {"color": COLORS_CLOTHES[4:], "size": SIZES_CLOTHES[:6]},
            (18.0, 55.0),
        ),
        ProductType(
            "Running Shoes",
            "men's running shoes",
            "Men > Shoes > Athletic > Running",
            _t("-, Sneakers"),
            _t("Lightweight, Breathable, Cushioned, Trail, Non Slip"),
            _t("rubber sole, lace up, non slip, breathable mesh, arch support"),
            {
                "color": _t("black white, grey blue, all black, navy orange, olive"),
                "size": _t("7, 7.5, 8, 8.5, 9, 9.5, 10, 10.5, 11, 12, 13"),
            },
            (30.0, 120.0),
        ),
        ProductType(
            "Hoodie",
            "hoodies",
            "Men > Clothing > Fashion Hoodies & Sweatshirts",
            _t("-, Pullover, Zip Up"),
            _t("Fleece, Heavyweight, Oversized, Athletic, Sherpa Lined"),
            _t("drawstring closure, kangaroo pocket, fleece lined, machine wash, long sleeve"),
            {"color": COLORS_CLOTHES, "size": SIZES_CLOTHES},
            (18.0, 60.0),
        ),
        ProductType(
            "Ankle Boots",
            "women's ankle boots",
            "Women > Shoes > Boots > Ankle & Bootie",
            _t("-, Booties"),
            _t("Chelsea, Block Heel, Lace Up, Faux Leather, Waterproof"),
            _t("rubber sole, block heel, faux leather, side zipper, round toe"),
            {
                "color": _t("black suede, taupe, cognac brown, grey, burgundy suede"),
                "size": _t("5, 6, 6.5, 7, 7.5, 8, 8.5, 9, 10"),
            },
            (25.0, 90.0),
        ),
        ProductType(
            "Socks",
            "socks",
            "Men > Clothing > Socks > Athletic Socks",
            _t("-, Crew Socks, Ankle Socks"),
            _t("Cushioned, Moisture Wicking, Compression, Wool, No Show"),
            _t("moisture wicking, cushioned sole, arch support, cotton blend, machine wash"),
            {
                "color": _t("white, black, assorted, grey heather"),
                "size": _t("shoe size 6-12, shoe size 12-16, one size"),
            },
            (8.0, 30.0),
        ),
        ProductType(
            "Rain Jacket",
            "women's rain jacket",
            "Women > Clothing > Coats, Jackets & Vests > Raincoats",
            _t("-, Windbreaker"),
            _t("Waterproof, Packable, Hooded, Lightweight, Breathable"),
            _t("water resistant, zipper closure, hooded, packable, lightweight"),
            {
                "color": _t("black, navy blue, olive green, yellow, dusty pink"),
                "size": SIZES_CLOTHES[:6],
            },
            (25.0, 110.0),
        ),
    ),
)

FURNITURE = Department(
    name="furniture",
    root="Home & Kitchen",
    brands=_t(
        "Walker Edison, Zinus Home, Nathan James, Sauder Works, Hearth Lane, Oakridge, Nordhaven, "
        "Linon Studio, Greenforest, Vasagle, Ameriwood, Maplewood, Homebeez, Tribesigns, "
        "Elm & Pine, Crestview"
    ),
    attributes=_t(
        "easy assembly, space saving, solid wood, engineered wood, metal frame, storage space, "
        "living room, bedroom, home office, mid century"
    ),
    uses=_t("the living room, the bedroom, a home office, small spaces, apartments, dorm rooms"),
    praise=_t(
        "easy to put together in under an hour, sturdy and looks expensive, fits perfectly in "
        "my apartment, great color and finish, instructions were clear, solid for the price"
    ),
    types=(
        ProductType(
            "Office Chair",
            "office chair",
            "Furniture > Home Office Furniture > Home Office Chairs",
            _t("-, Desk Chair"),
            _t("Ergonomic, Mesh, High Back, Swivel, Adjustable"),
            _t("lumbar support, adjustable height, mesh back, swivel wheels, padded armrests"),
            {"color": _t("black, grey, white, blue, pink")},
            (50.0, 250.0),
        ),
        ProductType(
            "Bookshelf",
            "bookshelf",
            "Furniture > Living Room Furniture > Bookcases",
            _t("-, Bookcase"),
            _t("5 Tier, Industrial, Ladder, Corner, Open"),
            _t("storage space, metal frame, easy assembly, space saving, engineered wood"),
            {"color": COLORS_HOME[:6], "size": _t("3 tier, 4 tier, 5 tier")},
            (35.0, 180.0),
        ),
        ProductType(
            "Coffee Table",
            "coffee table",
            "Furniture > Living Room Furniture > Tables > Coffee Tables",
            _t("-, with Storage"),
            _t("Lift Top, Round, Rustic, Modern, Glass"),
            _t("lift top, storage space, living room, easy assembly, solid wood"),
            {"color": COLORS_HOME},
            (60.0, 300.0),
        ),
        ProductType(
            "Bed Frame",
            "bed frame",
            "Furniture > Bedroom Furniture > Beds, Frames & Bases",
            _t("-, Platform Bed"),
            _t("Metal, Upholstered, Wood, Low Profile, Headboard"),
            _t("no box spring needed, under bed storage, metal frame, easy assembly, noise free"),
            {
                "color": _t("black, dark grey, light grey, walnut, white"),
                "size": _t("twin, full, queen, king"),
            },
            (90.0, 450.0),
        ),
        ProductType(
            "Nightstand",
            "nightstand",
            "Furniture > Bedroom Furniture > Nightstands",
            _t("-, with Drawer, Set of 2"),
            _t("Farmhouse, Modern, Rattan, Floating, Mid Century"),
            _t("storage space, bedroom, easy assembly, engineered wood, charging station"),
            {"color": COLORS_HOME},
            (30.0, 160.0),
        ),
        ProductType(
            "TV Stand",
            "tv stand",
            "Furniture > Living Room Furniture > TV & Media Furniture",
            _t("-, Entertainment Center, Media Console"),
            _t("Farmhouse, Modern, Corner, LED, Industrial"),
            _t("storage space, living room, cable management, engineered wood, easy assembly"),
            {"color": COLORS_HOME, "size": _t("55 inch, 65 inch, 70 inch")},
            (70.0, 350.0),
        ),
        ProductType(
            "Dining Chairs",
            "dining chairs",
            "Furniture > Kitchen & Dining Room Furniture > Chairs",
            _t("Set of 2, Set of 4"),
            _t("Upholstered, Mid Century, Velvet, Wooden, Farmhouse"),
            _t("solid wood legs, upholstered seat, easy assembly, dining room, mid century"),
            {"color": _t("green velvet, grey fabric, beige linen, black leather, white")},
            (70.0, 300.0),
        ),
        ProductType(
            "Loveseat Sofa",
            "sofa",
            "Furniture > Living Room Furniture > Sofas & Couches",
            _t("-, Couch, Futon"),
            _t("Convertible, Velvet, Mid Century, Sleeper, Small"),
            _t("living room, small spaces, easy assembly, solid wood legs, removable cushions"),
            {"color": _t("dark grey, light grey, navy velvet, emerald green, cream")},
            (150.0, 700.0),
        ),
    ),
)

ELECTRONICS = Department(
    name="electronics",
    root="Electronics",
    brands=_t(
        "Anker Labs, Soundwave, Voltix, Ravpower Pro, Boltron, Nexio, Sonique, Ugreen Tech, "
        "Skyline Audio, Zentrix, Amplify, Orbitel, Kinetix, Lumen, Tekvibe, Pulsar"
    ),
    attributes=_t(
        "fast charging, wireless bluetooth, long battery life, easy to use, high speed, "
        "noise cancelling, water resistant, lightweight, plug and play, high definition"
    ),
    uses=_t("travel, the office, gaming, workouts, home theater, students"),
    praise=_t(
        "works perfectly out of the box, battery lasts for days, great sound for the price, "
        "solid build quality, paired in seconds, does exactly what it says"
    ),
    types=(
        ProductType(
            "Wireless Earbuds",
            "wireless earbuds",
            "Headphones, Earbuds & Accessories > Earbuds",
            _t("-, with Charging Case"),
            _t("Bluetooth 5.3, Noise Cancelling, Sport, Waterproof, True Wireless"),
            _t(
                "noise cancelling, long battery life, water resistant, wireless charging, built in microphone"
            ),
            {"color": COLORS_TECH[:5]},
            (15.0, 150.0),
        ),
        ProductType(
            "Phone Case",
            "iphone case",
            "Cell Phones & Accessories > Cases, Holsters & Sleeves",
            _t("-, with Screen Protector"),
            _t("Shockproof, Slim, Clear, Magnetic, Rugged"),
            _t("shockproof, wireless charging compatible, slim fit, raised edges, drop protection"),
            {
                "color": _t("clear, black, sierra blue, lavender, forest green"),
                "size": _t("iphone 14, iphone 14 pro, iphone 15, iphone 15 pro max"),
            },
            (6.0, 40.0),
        ),
        ProductType(
            "USB C Cable",
            "usb c cable",
            "Computers & Accessories > Cables & Interconnects > USB Cables",
            _t("-, 2 Pack, 3 Pack"),
            _t("Braided, Fast Charging, 100W, Right Angle, Nylon"),
            _t("fast charging, high speed, nylon braided, data transfer, durable"),
            {"size": _t("3 ft, 6 ft, 10 ft"), "color": _t("black, white, grey, blue")},
            (6.0, 25.0),
        ),
        ProductType(
            "Bluetooth Speaker",
            "bluetooth speaker",
            "Portable Audio & Video > Portable Speakers",
            _t("-, Portable"),
            _t("Waterproof, Loud, Outdoor, Mini, Party"),
            _t("water resistant, long battery life, stereo sound, wireless bluetooth, built in microphone"),
            {"color": COLORS_TECH},
            (20.0, 160.0),
        ),
        ProductType(
            "HDMI Cable",
            "hdmi cable",
            "Television & Video > Accessories > Cables > HDMI Cables",
            _t("-, 2 Pack"),
            _t("8K, 4K, High Speed, Braided, Ultra"),
            _t("high speed, high definition, gold plated, 4k hdr, plug and play"),
            {"size": _t("3 ft, 6.6 ft, 10 ft, 15 ft")},
            (6.0, 30.0),
        ),
        ProductType(
            "Power Bank",
            "portable charger",
            "Cell Phones & Accessories > Chargers & Power Adapters",
            _t("-, Portable Charger"),
            _t("20000mAh, Slim, Magnetic, Solar, USB C"),
            _t("fast charging, high capacity, usb c, led display, compact size"),
            {"color": _t("black, white, navy, pink"), "size": _t("10000mah, 20000mah, 26800mah")},
            (15.0, 80.0),
        ),
        ProductType(
            "Smart Watch Band",
            "watch band",
            "Wearable Technology > Accessories > Bands",
            _t("-, Strap"),
            _t("Silicone, Leather, Stainless Steel, Nylon Sport, Magnetic"),
            _t("quick release, adjustable, sweat resistant, soft silicone, easy to install"),
            {
                "color": _t("midnight, starlight, black, pink sand, navy blue, olive"),
                "size": _t("38mm | 40mm | 41mm, 42mm | 44mm | 45mm"),
            },
            (6.0, 35.0),
        ),
        ProductType(
            "Laptop Stand",
            "laptop stand",
            "Computers & Accessories > Laptop Accessories > Stands",
            _t("-, Riser"),
            _t("Adjustable, Aluminum, Foldable, Ergonomic, Portable"),
            _t("adjustable height, aluminum alloy, foldable, heat dissipation, non slip"),
            {"color": _t("silver, space grey, black")},
            (15.0, 60.0),
        ),
    ),
)

DEPARTMENTS: tuple[Department, ...] = (BEAUTY, FOOD, FASHION, FURNITURE, ELECTRONICS)
"""The five departments, in the order the generator cycles through them."""

TITLE_PATTERNS = (
    "{brand} {desc} {noun}{form} - {Attr1}, {Attr2}",
    "{brand} {noun}{form} for {Use}, {desc}, {Attr1}",
    "{desc} {noun}{form} by {brand} | {Attr1} & {Attr2}",
    "{brand} {desc} {noun}{form}, {Attr1}, {Option}",
)
"""Amazon-style title shapes; a product's title fills one of them."""

INSTRUCTION_PATTERNS = (
    "i need {a} {query}",
    "i am looking for {query} that is {a}",
    "find me {a} {query}",
    "i want to buy {query} which are {a}",
    "i would like {a} {query} for {use}",
)
"""Instruction shapes of the synthetic goals; ``{a}`` lists the goal's attributes."""
