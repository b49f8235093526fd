"""Generate the small synthetic CSV files used by the example notebooks.

Run from this folder:  python make_data.py
Everything is seeded, so the files are identical on every run.
"""
import numpy as np
import pandas as pd

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."


def make_customers(n=500, seed=42):
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], size=n, p=[0.55, 0.25, 0.20])
    payment = rng.choice(
        ["Electronic check", "Mailed check", "Bank transfer", "Credit card"], size=n, p=[0.35, 0.2, 0.225, 0.225]
    )
    tenure = rng.integers(0, 73, size=n)
    monthly = np.round(rng.uniform(18, 118, size=n), 2)
    total = np.round(tenure * monthly * rng.uniform(0.95, 1.05, size=n), 2)
    logit = (
        -0.8
        + 1.4 * (contract == "Month-to-month")
        - 1.0 * (contract == "Two year")
        + 0.7 * (payment == "Electronic check")
        - 0.045 * tenure
        + 0.018 * (monthly - 65)
    )
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    total_str = np.array([f"{t:.2f}" for t in total], dtype=object)
    # like the famous telco file: brand-new customers have a blank total
    total_str[tenure == 0] = " "
    df = pd.DataFrame(
        {
            "customer_id": [f"C{1000 + i}" for i in range(n)],
            "tenure": tenure,
            "monthly_charges": monthly,
            "total_charges": total_str,
            "contract": contract,
            "payment_method": payment,
            "churn": np.where(churn, "Yes", "No"),
        }
    )
    df.to_csv(f"{HERE}/customers.csv", index=False)


SPAM_TEMPLATES = [
    "WINNER! You have won a {prize}. Call {phone} now to claim",
    "Congratulations! Claim your free {prize} today, text WIN to {short}",
    "URGENT: your account has a {amount} credit waiting, click {url}",
    "Get cheap {product} now!!! Limited offer, visit {url}",
    "You've been selected for a {prize}. Reply YES to {short} to receive",
    "FREE {product} for the first 100 customers. Text STOP to {short} to opt out",
    "Earn {amount} a week from home, no experience needed. Call {phone}",
    "Final notice: claim your {amount} cash prize before midnight at {url}",
    "Hot singles in your area want to meet you, visit {url}",
    "Lowest price on {product} guaranteed, order now at {url}",
    "Hi {name}, your parcel could not be delivered. Confirm your address at {url}",
    "{name}, your bank account needs verification. Reply with your details",
    "Are you free {day}? Hot singles are waiting, text {short}",
]
HAM_TEMPLATES = [
    "Hey {name}, are we still on for {event} {day}?",
    "Can you pick up {item} on the way home?",
    "I'll be a bit late for {event}, sorry!",
    "Thanks for {event} yesterday, it was great",
    "{name} said the meeting moved to {day}",
    "Did you see the game last night? {name} was amazing",
    "Running late, see you at {event} in 10 min",
    "Don't forget to bring {item} {day}",
    "Call me when you get a chance, it's about {event}",
    "Mum says dinner is at 7 {day}, bring {item}",
    "Are you free {day}? Fancy {event}?",
    "I won the pub quiz {day}, drinks on me",
    "Call me back when you can, it's urgent - {name} lost {item}",
    "Got the text about {event}, I'll reply to {name} later",
]
FILL = {
    "prize": ["iPhone", "holiday to Spain", "1000 GBP voucher", "new car", "gift card"],
    "phone": ["09061701461", "08002986030", "09050000327", "07781482378"],
    "short": ["80082", "87121", "69669", "85023"],
    "amount": ["$500", "£1000", "$250", "£2000"],
    "url": ["www.win-now.com", "bit.ly/fr33", "claim-prize.net", "www.cheapdeals.biz"],
    "product": ["meds", "ringtones", "loans", "watches", "insurance"],
    "name": ["Sam", "Alex", "Priya", "Tom", "Maria", "Ben"],
    "event": ["lunch", "the party", "football", "the meeting", "dinner", "the cinema"],
    "day": ["tomorrow", "tonight", "on Friday", "this weekend", "on Monday"],
    "item": ["milk", "the keys", "some bread", "your laptop", "the charger"],
}


def make_messages(n=200, spam_frac=0.3, seed=7):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        is_spam = rng.random() < spam_frac
        templates = SPAM_TEMPLATES if is_spam else HAM_TEMPLATES
        text = templates[rng.integers(len(templates))]
        for key, values in FILL.items():
            text = text.replace("{" + key + "}", values[rng.integers(len(values))])
        if rng.random() < 0.03:  # a few labelling mistakes, like in any real inbox export
            is_spam = not is_spam
        rows.append({"text": text, "label": "spam" if is_spam else "ham"})
    pd.DataFrame(rows).to_csv(f"{HERE}/messages.csv", index=False)


SURNAMES = ["Smith", "Brown", "Johnson", "Williams", "Taylor", "Andersson", "Kelly", "Murphy",
            "Davies", "Evans", "Wilson", "Thomas", "Roberts", "Walker", "Wright", "Hansen",
            "Olsen", "Palsson", "Carter", "Baxter", "Moran", "Rice", "Goodwin", "Sage"]
MALE = ["John", "William", "James", "Thomas", "George", "Charles", "Edward", "Henry", "Arthur", "Frank"]
FEMALE = ["Mary", "Anna", "Elizabeth", "Margaret", "Alice", "Helen", "Ellen", "Emily", "Bertha", "Ada"]


def make_passengers(n, seed, start_id, with_label):
    rng = np.random.default_rng(seed)
    pclass = rng.choice([1, 2, 3], size=n, p=[0.24, 0.21, 0.55])
    sex = rng.choice(["male", "female"], size=n, p=[0.64, 0.36])
    age = np.clip(np.round(rng.normal(30, 13, size=n)), 1, 75)
    child = rng.random(n) < 0.08
    age[child] = rng.integers(1, 13, size=child.sum())
    sibsp = rng.choice([0, 1, 2, 3, 4], size=n, p=[0.68, 0.23, 0.04, 0.03, 0.02])
    parch = rng.choice([0, 1, 2, 3], size=n, p=[0.76, 0.13, 0.09, 0.02])
    base_fare = np.select([pclass == 1, pclass == 2], [80.0, 20.0], 10.0)
    fare = np.round(base_fare * rng.lognormal(0, 0.4, size=n) * (1 + 0.3 * (sibsp + parch)), 4)
    embarked = rng.choice(["S", "C", "Q"], size=n, p=[0.72, 0.19, 0.09]).astype(object)
    embarked[rng.choice(n, size=2, replace=False)] = np.nan
    names, cabins, tickets = [], [], []
    for i in range(n):
        surname = SURNAMES[rng.integers(len(SURNAMES))]
        if sex[i] == "male":
            title = "Master" if age[i] < 13 else ("Dr" if rng.random() < 0.03 else "Mr")
            first = MALE[rng.integers(len(MALE))]
        else:
            title = "Miss" if (age[i] < 18 or rng.random() < 0.35) else "Mrs"
            first = FEMALE[rng.integers(len(FEMALE))]
        names.append(f"{surname}, {title}. {first}")
        if pclass[i] == 1 and rng.random() < 0.8:
            cabins.append(f"{'ABCDE'[rng.integers(5)]}{rng.integers(2, 130)}")
        elif rng.random() < 0.04:
            cabins.append(f"{'EFG'[rng.integers(3)]}{rng.integers(2, 80)}")
        else:
            cabins.append(np.nan)
        tickets.append(f"{['', 'PC ', 'A/5 ', 'STON/O2. ', 'CA '][rng.integers(5)]}{rng.integers(1000, 400000)}")
    age_out = age.astype(float)
    age_out[rng.random(n) < 0.19] = np.nan
    df = pd.DataFrame({"PassengerId": np.arange(start_id, start_id + n)})
    if with_label:
        logit = (-1.3 + 3.2 * (sex == "female") + 1.3 * (pclass == 1) - 1.1 * (pclass == 3)
                 + 2.0 * (age < 13) - 0.8 * (sibsp >= 3) - 0.015 * (age - 30))
        df["Survived"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df["Pclass"] = pclass
    df["Name"] = names
    df["Sex"] = sex
    df["Age"] = age_out
    df["SibSp"] = sibsp
    df["Parch"] = parch
    df["Ticket"] = tickets
    df["Fare"] = fare
    df["Cabin"] = cabins
    df["Embarked"] = embarked
    return df


def make_houses(n=400, seed=3):
    rng = np.random.default_rng(seed)
    neighborhood = rng.choice(["Downtown", "Riverside", "Suburbs", "Hillcrest"], size=n, p=[0.2, 0.25, 0.4, 0.15])
    sqft = np.round(np.clip(rng.normal(1800, 550, size=n), 500, 4500))
    bedrooms = np.clip(np.round(sqft / 600 + rng.normal(0, 0.7, size=n)), 1, 6).astype(int)
    bathrooms = np.clip(np.round((bedrooms * 0.6 + rng.normal(0, 0.5, size=n)) * 2) / 2, 1, 4)
    year_built = rng.integers(1920, 2022, size=n)
    lot_size = np.round(rng.lognormal(8.7, 0.5, size=n))
    garage = rng.choice([0, 1, 2], size=n, p=[0.2, 0.45, 0.35])
    premium = pd.Series(neighborhood).map({"Downtown": 60000, "Riverside": 35000, "Suburbs": 0, "Hillcrest": 90000}).to_numpy()
    price = (40000 + 140 * sqft + 9000 * bathrooms + 700 * (year_built - 1920) + 9000 * np.log(lot_size)
             + 12000 * garage + premium + rng.normal(0, 25000, size=n))
    lot = lot_size.astype(float)
    lot[rng.choice(n, size=12, replace=False)] = np.nan  # some listings have no lot size
    df = pd.DataFrame({
        "house_id": np.arange(1, n + 1),
        "neighborhood": neighborhood,
        "sqft": sqft.astype(int),
        "bedrooms": bedrooms,
        "bathrooms": bathrooms,
        "year_built": year_built,
        "lot_size": lot,
        "garage_spaces": garage,
        "price": np.round(price, -2).astype(int),
    })
    df.to_csv(f"{HERE}/houses.csv", index=False)


if __name__ == "__main__":
    make_customers()
    make_messages()
    make_houses()
    make_passengers(400, seed=1912, start_id=1, with_label=True).to_csv(f"{HERE}/passengers_train.csv", index=False)
    make_passengers(150, seed=1915, start_id=401, with_label=False).to_csv(f"{HERE}/passengers_test.csv", index=False)
