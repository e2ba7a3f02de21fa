//! A small retrieval corpus with known answers: the employee handbook and
//! product docs of Brightwave, a fictional company.
//!
//! Every document has a few distinctive facts (numbers, names of internal
//! tools) and shares plenty of vocabulary with the others ("employees",
//! "manager", "request", "Harbor", "days", "EUR", ...), so ranking is not
//! trivial. Each [`Question`] is answered by exactly one document.
//!
//! The first [`LITERAL_QUESTIONS`] questions reuse the words of their
//! document; the rest are paraphrased with synonyms from the synonym table of
//! [`super::fake_embeddings::embed`] (e.g. "automobile" for "car",
//! "reimbursed" for "refund"), so a keyword search tends to miss them while a
//! semantic search over the fake embeddings finds them.

/// A document to upload into a knowledge base.
pub struct Doc {
    /// File name, e.g. `"kb/solar-panels.md"`; unique within [`documents`].
    pub name: &'static str,
    /// Markdown body, 150–400 words.
    pub content: String,
}

/// A question with the name of the one document that answers it.
pub struct Question {
    /// The question, as a user would type it.
    pub text: &'static str,
    /// The [`Doc::name`] of the document that answers it.
    pub answer_doc: &'static str,
}

/// How many questions at the start of [`questions`] use the answer
/// document's own words; the remaining ones are paraphrased with synonyms.
pub const LITERAL_QUESTIONS: usize = 12;

/// The corpus: 35 Markdown documents of 150–400 words each.
pub fn documents() -> Vec<Doc> {
    DOCS.iter()
        .map(|(name, content)| Doc {
            name,
            content: (*content).to_string(),
        })
        .collect()
}

/// 24 questions, each answered by exactly one of [`documents`]: the first
/// [`LITERAL_QUESTIONS`] phrased with the document's words, the rest
/// paraphrased with synonyms.
pub fn questions() -> Vec<Question> {
    QUESTIONS
        .iter()
        .map(|(text, answer_doc)| Question { text, answer_doc })
        .collect()
}

#[rustfmt::skip]
const QUESTIONS: &[(&str, &str)] = &[
    // Literal: the document's own words.
    ("How many unused vacation days can I carry over to next year?", "kb/vacation-policy.md"),
    ("What should I do if I lose my security badge?", "kb/security-badges.md"),
    ("How much is the on-call stipend per week?", "kb/on-call-rotation.md"),
    ("How many devices can one Lumen Hub connect?", "kb/product-faq.md"),
    ("What share of the office electricity do the solar panels cover?", "kb/solar-panels.md"),
    ("What is the minimum password length?", "kb/password-policy.md"),
    ("When is the postmortem due after a SEV1 incident?", "kb/incident-response.md"),
    ("When do I need three quotes for a purchase order?", "kb/procurement.md"),
    ("How many approvals does a pull request need before merging?", "kb/code-review.md"),
    ("When is the yearly deploy freeze?", "kb/deploy-process.md"),
    ("What are the customer support hours and response SLA?", "kb/support-hours.md"),
    ("When do performance reviews and calibration happen?", "kb/performance-reviews.md"),
    // Paraphrased with synonyms from the embedding's synonym table.
    ("How much PTO do staff get each year?", "kb/vacation-policy.md"),
    ("When will I be reimbursed for things I purchased for work?", "kb/expense-refunds.md"),
    ("I misplaced my keycard, who do I tell?", "kb/security-badges.md"),
    ("How do I reserve an automobile for a client visit?", "kb/company-cars.md"),
    ("When do I need a note from a physician if I am ill?", "kb/sick-leave.md"),
    ("How many days a week may I telework?", "kb/remote-work.md"),
    ("My notebook computer is damaged, how do I get a replacement?", "kb/laptop-setup.md"),
    ("How rapidly must a critical defect be repaired?", "kb/bug-reporting.md"),
    ("Can a client get reimbursed after cancelling an annual subscription?", "kb/customer-refunds.md"),
    ("How much notice must I give when I quit?", "kb/offboarding.md"),
    ("On which weekday is the complimentary meal provided?", "kb/office-kitchen.md"),
    ("Will the company cover my fitness subscription?", "kb/gym-wellness.md"),
];

#[rustfmt::skip]
const DOCS: &[(&str, &str)] = &[
    ("kb/vacation-policy.md", r#"# Vacation policy
Every Brightwave employee receives 27 days of paid vacation per calendar year, on top of public holidays. Vacation accrues monthly at 2.25 days, so new employees who join mid-year get a prorated amount for their first year.

## Requesting vacation
Submit vacation requests in the Harbor HR portal at least two weeks in advance for absences longer than three days. Your manager approves or declines the request within three business days. Short absences of one or two days can be requested with a few days of notice, as long as your team is covered.

## Carry-over
Up to 5 unused vacation days carry over to the next year, but they must be taken before 31 March. Days above that limit expire on 31 December and are not paid out, except when an employee leaves the company.

## Blackout periods
Teams with a release or an audit may declare a blackout period of up to two weeks, announced at least one month ahead. During the December deploy freeze most teams are quiet, and managers are encouraged to approve vacation generously.

Questions about your balance go to the people team in the #ask-people channel or through Harbor.
"#),
    ("kb/expense-refunds.md", r#"# Expense refunds
When you pay for work-related costs yourself, Brightwave refunds you. Typical examples are train tickets, taxi rides to a customer, meals with a candidate, or small equipment you buy for your team.

## How to claim
1. Submit an expense claim in Ledgerly within 30 days of the expense.
2. Attach a photo of the receipt. Receipts above 25 EUR must be itemised; a card slip alone is not enough.
3. Add the project code and a one-line business reason.

Your manager approves the claim in Ledgerly. Finance checks it within five business days.

## When you get paid
Approved refunds are paid with the next monthly payroll, on the 25th of the month. Claims approved after the 15th move to the following payroll.

## Limits
- Mileage for a private car is refunded at 0.30 EUR per kilometre.
- Alcohol is never refunded.
- Anything you buy above 1,000 EUR must go through procurement instead of an expense claim.

If a claim is rejected, Ledgerly shows the reason and you can fix and resubmit it. Questions go to finance in the #ask-finance channel.
"#),
    ("kb/security-badges.md", r#"# Security badges
Every employee gets a personal photo badge on their first day. The badge opens the doors of the Lisbon headquarters and the Berlin office, and it must be visible while you are in the building.

## Lost or stolen badge
If you lose your badge, report it to the security desk at extension 4400 within 24 hours, or in the #security channel outside office hours. The lost badge is deactivated immediately. A replacement badge costs 15 EUR, deducted from your salary, and is ready the next business day; the first replacement is free.

## Renewal
Badges expire every two years. Security emails you a month before expiry with a link to upload a new photo.

## Visitors
Visitors receive a red badge at reception and must be escorted by an employee at all times. Contractors receive a yellow badge that is valid for the length of their contract, up to six months.

## Rules
- Never lend your badge to anyone, including colleagues who forgot theirs.
- Tailgating through secure doors is not allowed; hold the door only for people who show a badge.
- Return the badge to your manager on your last day.
"#),
    ("kb/on-call-rotation.md", r#"# On-call rotation
Engineers in the platform, payments and integrations teams take part in a weekly on-call rotation. Each shift starts on Monday at 10:00 and ends with a handover the following Monday at 10:00.

## Responsibilities
- Acknowledge every page in Beacon within 15 minutes, day or night.
- Keep your laptop and your phone with you, charged, with a working internet connection.
- Open an incident and follow the incident response process for anything customer-facing.
- Write a short handover note for the next engineer on Monday.

## Compensation
On-call engineers receive a stipend of 300 EUR per week, paid with the monthly salary. If you are paged at night or on a weekend and work more than two hours, you get a compensatory day off in the following week. Record it in Harbor so your manager can approve it.

## Swaps
You can swap shifts with a colleague in the rotation calendar. Both engineers must confirm the swap at least 48 hours in advance, and the team lead is notified automatically. New engineers shadow two shifts before they join the rotation.

Escalation: if the primary does not acknowledge within 15 minutes, Beacon pages the secondary, then the engineering manager.
"#),
    ("kb/product-faq.md", r#"# Lumen Hub product FAQ
The Lumen Hub is Brightwave's smart building controller. It connects lights, sensors, thermostats and meters, and it reports to the Lumen cloud dashboard.

**How many devices can one hub connect?**
One Lumen Hub supports up to 64 connected devices over Zigbee and Thread. For larger buildings, several hubs can be linked in one site.

**Does it work offline?**
Yes. Schedules and automations keep running without internet for up to 30 days; data syncs when the connection returns.

**How often is the firmware updated?**
Firmware updates are released monthly, on the first Tuesday of the month, and install automatically at night.

**How do I factory reset the hub?**
Hold the reset button on the back for 10 seconds until the ring light turns orange.

**What is the warranty?**
Every hub has a two-year warranty. Customers on the Enterprise plan get a free replacement shipped the next business day.

**Which power supply do I need?**
The hub uses USB-C with at least 15 watts; the adapter is in the box.

More answers for customers are in the help centre; employees can also ask the product team in #lumen-hub.
"#),
    ("kb/solar-panels.md", r#"# Solar panels at headquarters
In 2023 Brightwave installed 420 solar panels on the roof of the Lisbon headquarters. The system has a peak capacity of 180 kW.

## What it produces
Last year the panels produced 210 MWh, which covered about 35% of the office electricity. On sunny summer days the building runs entirely on solar power between 11:00 and 16:00, and the surplus is fed into the grid.

## Electric car charging
The eight chargers in the garage are powered by the panels first and by the grid only when production is low. Employees can see the live share of solar power on the dashboard screen in the lobby.

## Maintenance
The panels are cleaned twice a year, in April and in September, and the inverter is serviced every April. During cleaning, part of the roof is closed and the rooftop terrace is not available. Facilities announces the dates in the #office channel one week ahead.

## Why we did it
The installation cost 190,000 EUR and is expected to pay for itself in seven years. It is part of our plan to reduce the company's carbon footprint by 50% by 2027. Ideas for further energy savings are welcome in the #green-team channel.
"#),
    ("kb/company-cars.md", r#"# Company cars
Brightwave keeps a pool of 12 electric cars in the headquarters garage. They are meant for customer visits, trips between offices, and transporting equipment.

## Booking a car
Book a car in Fleetdesk up to 30 days ahead. Bookings are for whole hours; for more than two days you need approval from your manager. Pick up the key from the key box at reception with your badge.

## Before you drive
- Your driving licence is checked once a year by the fleet team; upload a scan in Fleetdesk.
- The charging card is in the glovebox and works at public chargers across Europe.
- Private trips are not allowed unless your manager approves them in advance.

## Returning the car
Return the car to its parking spot with at least 20% battery and plug it in. Leave it clean; a cleaning fee of 40 EUR applies otherwise.

## Accidents and damage
Report any accident or damage to the fleet team within 24 hours, with photos, in Fleetdesk. Traffic fines are passed on to the employee who booked the car. In an emergency, call the roadside assistance number on the key fob.
"#),
    ("kb/parental-leave.md", r#"# Parental leave
Brightwave supports employees who become parents through birth, adoption or surrogacy.

## How much leave
- Primary caregivers receive 20 weeks of parental leave at full salary.
- Secondary caregivers receive 6 weeks at full salary.

Leave can be taken in one block or in up to three blocks within the first 12 months after the baby arrives or the adoption is final.

## Telling us
Notify your manager and the people team in Harbor at least 8 weeks before the expected due date or placement. The people team sends you a checklist with the documents needed for the statutory benefit, which Brightwave tops up to your full salary.

## Coming back
After parental leave you can use a phased return: 80% of your usual hours at full pay for the first four weeks. Your role and level are guaranteed. Nursing rooms with a fridge are available on the second floor of each office.

## Extras
Every new parent receives a baby bonus of 500 EUR with the next payroll. Parental leave does not reduce your vacation days, which keep accruing during the leave.
"#),
    ("kb/sick-leave.md", r#"# Sick leave
If you are sick, rest and get well. There is no fixed limit on sick days at Brightwave.

## Reporting sickness
Notify your manager before 10:00 on the first day you are sick, by message or phone; you do not need to share a diagnosis. Record the sick day in Harbor the same day so payroll is correct.

## Doctor's note
A doctor's note is required from the fourth consecutive sick day. Upload it in Harbor; only the people team can see it. For longer sickness, send a new note every two weeks.

## Sick children
Parents get 10 paid days per year to care for a sick child, recorded in Harbor as child sick days.

## Long-term sickness
After four weeks of sickness, a case manager from the people team contacts you to plan support and a gradual return. Your salary is paid in full for the first six months.

## Working while sick
Please do not come to the office with a contagious illness. If you feel well enough to work from home, agree it with your manager; otherwise log off completely. On-call engineers who are sick must swap their shift.
"#),
    ("kb/remote-work.md", r#"# Remote work
Brightwave is an office-first company with flexible remote work. Employees may work remotely up to 3 days per week, agreed with their manager and team.

## Core hours
Core hours are 10:00 to 15:00 CET. During core hours you are expected to be reachable on chat and to join team meetings, wherever you work.

## Home office stipend
Every employee can claim a one-time home office stipend of 500 EUR for a desk, a chair or a monitor. Claim it in Ledgerly with the receipts within your first six months. Equipment bought with the stipend is yours to keep.

## Working from abroad
Working from another country is allowed for up to 20 days per year, and needs approval from your manager and the people team in Harbor at least two weeks before, because of tax and insurance rules.

## Security at home
- Always connect through the company VPN.
- Lock your laptop when you leave it, even at home.
- Do not work from public Wi-Fi without the VPN.

Teams can set stricter rules, for example office days for planning weeks, as long as they are written down in the team handbook.
"#),
    ("kb/laptop-setup.md", r#"# Laptops and setup
New employees receive a laptop on their first day: a MacBook Pro for engineering and design, a ThinkPad for everyone else. IT prepares it before you arrive.

## Setup
Every laptop is enrolled in Keel, our device management system, with full disk encryption and automatic updates. Do not remove Keel or disable encryption. Installing software that is not in the Keel catalogue needs approval from IT.

## Broken laptop
If your laptop is broken, open an IT ticket in the help desk portal with a short description and photos. IT gives you a loaner laptop within one business day and repairs or replaces yours. Accidental damage is covered; you do not pay for repairs.

## Replacement cycle
Laptops are replaced every three years. IT contacts you when yours is due and migrates your data. Old laptops are wiped and donated to local schools.

## Accessories
You can order a second monitor, a keyboard, a mouse and a headset from the IT catalogue without approval. Other accessories up to 100 EUR can be claimed as expenses.

Return your laptop to IT on your last day.
"#),
    ("kb/password-policy.md", r#"# Password policy
Passwords protect Brightwave's customer data. This policy applies to every employee and contractor.

## Rules
- Passwords must be at least 14 characters long. Longer phrases of four or more random words are encouraged.
- Use a different password for every service. Store them in Vaultline, the company password manager, which every employee gets on their first day.
- Multi-factor authentication is mandatory for all company accounts; use the hardware security key issued by IT.
- Never share a password, not even with IT or your manager. IT will never ask for it.

## Changing passwords
We do not force regular password changes. Change a password immediately if you suspect it is compromised, and report the suspicion in #security.

## Lockout
After 10 failed login attempts an account is locked for 30 minutes. To unlock it sooner, call the IT help desk at extension 4300 and verify your identity with your security key.

## Shared accounts
Shared accounts are allowed only for vendor tools that have no team support. Their passwords live in a shared Vaultline vault owned by a team lead, and are rotated when a team member leaves.
"#),
    ("kb/incident-response.md", r#"# Incident response
An incident is any unplanned event that harms customers, such as an outage, data loss or a security breach.

## Severity levels
- SEV1: full outage of a customer-facing service, or a data breach.
- SEV2: a major feature is unavailable for many customers.
- SEV3: degraded performance or a minor feature broken.
- SEV4: internal tooling problems with no customer impact.

## During an incident
The on-call engineer opens an incident in Beacon, which creates a channel named #inc-<date>. For SEV1 and SEV2, an incident commander is appointed; the commander coordinates, decides, and keeps a timeline. The customer status page is updated every 30 minutes until the incident is resolved, even when there is nothing new to report.

## After an incident
A blameless postmortem is due within 5 business days of every SEV1 or SEV2 incident. It lists the timeline, the root cause, and follow-up actions with owners. Postmortems are reviewed in the weekly reliability meeting on Wednesday.

Customers affected by a SEV1 may be owed service credits under their contract; support coordinates this with the account manager.
"#),
    ("kb/bug-reporting.md", r#"# Reporting bugs
Found a bug in Lumen or an internal tool? Report it on the Triage board so the right team can fix it.

## A good bug report
- Steps to reproduce, starting from a clean state.
- Expected result and actual result.
- Version, browser or device, and the customer account if relevant.
- Screenshots or logs; remove personal data first.

## Priorities
- P0: customers cannot use the product, or data is at risk. P0 bugs must be fixed within 24 hours and usually also open an incident.
- P1: an important feature is broken; fixed within one week.
- P2: annoying but has a workaround; planned in the next sprint.
- P3: cosmetic; fixed when convenient.

## Triage
The bug triage meeting runs every Thursday at 14:00. Product managers and team leads check new reports, set the priority and assign a team. Customer-reported bugs are linked to their support ticket so support can tell the customer when the fix ships.

Duplicates are closed with a link to the original report. If you disagree with a priority, add a comment with the customer impact rather than raising it yourself.
"#),
    ("kb/travel-policy.md", r#"# Business travel policy
Business travel must be approved by your manager before you book. Book all trips through Wayfare, our travel tool, so that the company can reach you in an emergency.

## Transport
- Trains are preferred for trips under four hours.
- Flights under six hours are booked in economy; longer flights may be booked in premium economy.
- Taxis are fine late at night or with heavy equipment; otherwise use public transport.

## Hotels
The hotel cap is 160 EUR per night, or 220 EUR per night in London, Paris and Zurich. Wayfare shows hotels within the cap first. Staying with friends is fine; no allowance is paid instead.

## Per diem
You receive a per diem of 45 EUR per full travel day for meals, paid with the expense refunds; meals paid by a customer or at a conference are deducted.

## Safety
Travel insurance covers all business trips. Register your trip in Wayfare and keep your phone reachable. For travel to countries with a security warning, the security team must approve the trip first.
"#),
    ("kb/procurement.md", r#"# Procurement
Procurement helps teams buy software, hardware and services at good prices and with the right contracts.

## When to involve procurement
- Anything you buy for more than 1,000 EUR needs a purchase order (PO) before the order is placed.
- Above 10,000 EUR you must collect three quotes from different vendors.
- Every new software vendor that will process customer data needs a security review, whatever the price.

## How to raise a purchase order
Create a purchase request in Ledgerly with the vendor, the amount, the cost centre and a short business case. Your manager approves first, then finance. Purchase orders above 50,000 EUR also need the CFO.

## Approved vendors
Check the approved vendors list first: laptops, monitors, cloud services and office supplies already have framework contracts with discounted prices. Buying from an approved vendor skips the three-quote rule.

## Delivery
Deliveries go to the headquarters reception unless agreed otherwise. Reception logs the delivery and notifies you by email.

Small purchases under 1,000 EUR can be paid with a company card or claimed as an expense refund. Questions go to the procurement team in #procurement.
"#),
    ("kb/pricing-plans.md", r#"# Lumen pricing plans
Lumen is sold per user per month. Prices exclude VAT.

## Plans
- **Starter**: 12 EUR per user per month, for teams of up to 10 users. Includes the dashboard, one site and email support.
- **Team**: 29 EUR per user per month. Unlimited sites, automations, the public API and chat support.
- **Enterprise**: custom price. Adds single sign-on, audit logs, a 99.9% uptime SLA, a dedicated account manager and 24/7 priority support.

## Discounts
- Annual billing gives a 15% discount on Starter and Team.
- Non-profits and schools get 50% off any plan after verification.
- Customers buying more than 500 seats can ask sales for volume pricing.

## Hardware
The Lumen Hub costs 149 EUR per unit, or 9 EUR per month as part of a Team or Enterprise subscription.

## Changing plans
Customers can upgrade at any time; the difference is charged pro rata. Downgrades take effect at the end of the billing period. Sales employees may grant up to 10% extra discount; anything more needs approval from the head of sales.
"#),
    ("kb/customer-refunds.md", r#"# Customer refunds
This page explains when customers can get their money back for Lumen subscriptions and Lumen Hub hardware.

## Money-back guarantee
New customers can request a full refund within 30 days of their first purchase, no questions asked. The guarantee applies once per customer.

## Annual plans
Customers who cancel an annual plan after the first 30 days receive a pro rata refund for the unused full months, minus any discount they received. Monthly plans are not refunded; they simply end at the end of the month.

## Hardware returns
Unopened hubs can be returned within 14 days for a refund. Damaged or faulty hubs are replaced under warranty instead of refunded.

## Processing
Support handles refund requests in the billing tool. Refunds are paid to the original payment method within 5 to 7 business days. Refunds above 5,000 EUR need approval from finance.

## Goodwill
After a SEV1 incident, support may offer service credits instead of a refund. Credits are applied to the next invoice. Questions from customers about invoices go to billing@brightwave.example, and employees can ask in #ask-finance.
"#),
    ("kb/onboarding.md", r#"# Onboarding new employees
Welcome to Brightwave! This page explains your first weeks.

## Your first day
New employees start at 9:30 at the headquarters reception. You collect your badge, your laptop and your welcome pack, then meet your manager and your onboarding buddy. Your buddy is a colleague from another team who answers the questions you might not want to ask your manager.

## Your first week
The onboarding week has short sessions on the product, security, the Harbor HR portal, Ledgerly for expenses, and how teams work. You set up your password manager and security key with IT on day one.

## 30-60-90 day plan
In your first week you and your manager write a 30-60-90 day plan with concrete goals. You review it together after each stage.

## Probation
The probation period is six months. In the last month, your manager holds a probation review with you; if all goes well, you receive a confirmation letter.

## Feedback
After 30 days you receive a short survey about your onboarding. The people team reads every answer and improves the programme each quarter.
"#),
    ("kb/offboarding.md", r#"# Leaving Brightwave
We are sorry to see you go. This page explains what happens when an employee leaves the company.

## Resignation
Send your resignation in writing to your manager and to the people team in Harbor. The notice period is one month during your first two years and three months afterwards, ending at the end of a calendar month. Your manager can agree a shorter notice period with you.

## Your last weeks
Plan a handover with your manager: document your work, transfer ownership of documents and repositories, and leave the on-call rotation.

## Your last day
On your last day, return your laptop, your badge, your security key and any company phone to IT. Accounts are disabled at 18:00.

## Exit interview
The people team invites you to an exit interview. It is optional and confidential, and it helps us improve.

## Final salary
Your final salary includes unused vacation days, paid out at your daily rate, and any approved expense refunds. Your employment certificate arrives within two weeks. Former employees are welcome in the alumni channel.
"#),
    ("kb/performance-reviews.md", r#"# Performance reviews
Performance reviews at Brightwave happen twice a year, in April and in October.

## The process
1. **Self-assessment**: you write a short reflection on your goals, your impact and what you want to learn.
2. **Peer feedback**: you choose three peers, and your manager may add one more. Peers answer four questions in Harbor.
3. **Manager review**: your manager writes a review and proposes a rating.
4. **Calibration**: managers of the same department compare ratings in a calibration meeting, to make ratings fair across teams.
5. **Conversation**: you discuss the final review with your manager, and agree goals for the next six months.

## Ratings
Ratings go from 1 (does not meet expectations) to 5 (far exceeds expectations). Most employees are rated 3, which means solid performance.

## Promotions
Promotions are decided in the October cycle, based on the level expectations in the career framework. Promotions take effect on 1 January, together with the salary review.

## New employees
Employees who joined less than three months before a cycle skip it and have a probation review instead.
"#),
    ("kb/salary-bands.md", r#"# Salary bands
Brightwave publishes salary bands for every level, from L1 to L7, in the career framework. Every employee can see all bands.

## How pay is set
Your salary is set within the band of your level, based on experience and performance. New employees are usually hired in the lower half of the band, so there is room to grow.

## Salary review
Salaries are reviewed every January. The review includes an inflation adjustment for everyone, decided by the leadership team, plus individual raises based on the performance review ratings. Promotions move you into the new band with a raise of at least 8%.

## Bonus
Employees at L5 and above are eligible for an annual bonus of up to 10% of salary, paid in March and based on company goals.

## Equity
All employees receive stock options when they join. An equity refresh is granted every two years at L4 and above.

## Pay transparency
We do not negotiate individually outside the bands. If you believe your pay is unfair, talk to your manager or to the people team; they review every case within a month.
"#),
    ("kb/health-insurance.md", r#"# Health insurance and medical care
Brightwave offers private health insurance to every employee, from the first day. Partners and children can be added for free.

## Company physician
A company physician is on site at the Lisbon headquarters on Tuesdays and Thursdays from 9:00 to 13:00. Book a slot in Harbor. The physician can help with minor issues, vaccinations and advice; visits are confidential.

## Check-ups
Every employee can have a free annual check-up at a partner clinic. Book it through the insurance app.

## What is covered
- Doctor visits, specialists and hospital stays.
- Dental care, reimbursed at 80%.
- Glasses or contact lenses, with an allowance of 150 EUR every two years.
- Mental health: up to 12 therapy sessions per year, fully covered and anonymous.

## Claims
Submit medical bills in the insurance app, not in Ledgerly. Claims are paid within ten days.

Questions about coverage go to the insurance broker; the people team can introduce you.
"#),
    ("kb/office-kitchen.md", r#"# Office kitchen
Each Brightwave office has a shared kitchen. Please help keep it pleasant for everyone.

## Free food
- Free lunch is served every Wednesday at 12:30, catered by a local restaurant. Vegetarian and vegan options are always available.
- Fruit, coffee, tea and milk are available every day.
- On Fridays at 16:00 there are drinks and snacks for the whole office.

## Fridge rules
Label your food with your name and the date. The fridge is cleared every Friday at 16:00; unlabelled food is thrown away, labelled food older than a week too.

## Allergies
An allergen list is posted next to the coffee machine. The Wednesday lunch menu is sent by email on Monday, with allergens marked. Tell the office team in advance if you need a special meal.

## Dishes
Put your dishes in the dishwasher, not in the sink. The last person to leave the kitchen after 17:00 starts the dishwasher.

## Events
To use the kitchen for a team event or a customer visit, book it as a room in the calendar and tell the office team a week ahead.
"#),
    ("kb/gym-wellness.md", r#"# Wellness and gym allowance
Brightwave wants employees to stay healthy. Every employee has a wellness allowance of 40 EUR per month.

## What the allowance covers
The allowance covers a gym membership, sports clubs, swimming pools, climbing halls or online sport classes. Claim it monthly in Ledgerly with the receipt or the membership invoice. Unused allowance does not carry over to the next month.

## Activities in the office
- Yoga every Thursday at 18:00 in the Rhine room, with mats provided.
- A massage therapist visits on the first Monday of each month; book a 20-minute slot in Harbor.
- Running group on Tuesday lunchtime, starting from reception.

## Challenges
Every spring the office team runs a step challenge between teams. The winning team chooses a charity that receives 1,000 EUR from the company.

## Mental wellbeing
Wellness is not only about sport. Employees can use the confidential counselling service, covered by health insurance, and take part in the monthly mindfulness session.

Ideas for new activities can be posted in #wellness.
"#),
    ("kb/bike-to-work.md", r#"# Bike to work
Brightwave encourages employees to cycle to the office.

## Bike leasing
Through our partner Pedalwise you can lease a bicycle or e-bike worth up to 3,000 EUR. The lease is deducted from your gross salary over 36 months, which saves tax. At the end, you can buy the bike for 10% of its price. Sign up in Harbor; leases start on the first of the month.

## Bike room
The secure bike room is on basement level -1 of the headquarters, with 60 spaces and your badge opens the door. There are chargers for e-bikes and a small repair station with a pump and tools.

## Showers and lockers
Showers and lockers are next to the bike room. Lockers are free; bring your own lock and empty your locker every Friday.

## Insurance
Leased bikes are insured against theft and damage. Report theft to the police and to Pedalwise within 48 hours.

## Bike days
Twice a year, a mechanic visits for a free check-up of any employee's bike. Dates are announced in #office.
"#),
    ("kb/data-retention.md", r#"# Data retention
This policy explains how long Brightwave keeps data. It follows GDPR and our customer contracts.

## Customer data
Customer data is kept while the account is active. When a customer closes their account, all their data is deleted 90 days later. During those 90 days the customer can reopen the account and recover everything.

## Logs
Application logs are kept for 30 days. Security and audit logs are kept for one year, in a separate storage account with restricted access.

## Backups
Backups are encrypted and kept for 35 days. Data deleted from production disappears from backups when they expire.

## Deletion requests
When a person asks us to delete their personal data, the privacy team must complete the request within 30 days. Forward any such request from a customer to privacy@brightwave.example immediately.

## Legal hold
The legal team can place a legal hold on specific data; held data is not deleted until the hold is lifted, whatever this policy says.

Employees must not copy customer data to laptops, personal storage or tickets. Questions go to the privacy team in #privacy.
"#),
    ("kb/deploy-process.md", r#"# Deploy process
Lumen is deployed to production by release trains, not by hand.

## Release trains
Release trains leave on Tuesdays and Thursdays at 11:00. Changes merged to main before 10:00 are included automatically. Each train is owned by the on-call engineer of the platform team.

## Canary
Every release first goes to a canary with 5% of traffic for one hour. If the error rate rises above 1% or latency doubles, the deploy is rolled back automatically and the train is stopped. Otherwise, it rolls out to all regions over two hours.

## Deploy freeze
There is a deploy freeze every year from 15 December to 5 January, when many employees are on vacation. During the freeze only hotfixes are deployed.

## Hotfixes
A hotfix can be deployed outside the trains with two approvals, one from a team lead. It still goes through the canary, but for 15 minutes instead of an hour.

## Feature flags
Risky changes must be behind a feature flag, so they can be switched off without a deploy. Flags older than three months are cleaned up in the monthly flag review.
"#),
    ("kb/code-review.md", r#"# Code review
All code at Brightwave is reviewed before it is merged.

## Rules
- Every pull request needs two approvals before merging, one of them from the owning team.
- Reviewers respond within one business day. If you cannot review in time, say so and suggest someone else.
- Keep pull requests under 400 changed lines; split larger changes.
- Continuous integration must pass. Flaky tests are fixed, not retried.
- Nobody merges their own pull request without approvals, including managers.

## Writing a good pull request
Explain what changed and why, link the ticket, and describe how you tested it. Add screenshots for user interface changes.

## Reviewing
Review the design first, then the details. Be kind and specific; label optional suggestions as "nit". Approve when the change is good enough, not perfect.

## Security-sensitive code
Changes to authentication, payments or data deletion need one approval from the security team in addition to the two normal approvals.

## Pairing
Code written in pair programming still needs one more approval from someone who was not in the pair.
"#),
    ("kb/meeting-rooms.md", r#"# Meeting rooms
Meeting rooms at headquarters are named after European rivers.

## Rooms
- **Danube**: the large room on the ground floor, seats 40, with a projector and two microphones. Used for all-hands meetings.
- **Rhine**: seats 12, with video conferencing. Also used for yoga on Thursday evenings.
- **Tagus**, **Loire** and **Elbe**: seat 6 each, with a screen and camera.
- Five phone booths on each floor for one person.

## Booking
Book rooms in the company calendar. Meetings can be booked for a maximum of two hours; longer workshops need approval from the office team. If nobody shows up within 10 minutes, the booking is released automatically so colleagues can use the room.

## Equipment
Video equipment is in every room except the phone booths. If something does not work, report it in #office with the room name. Do not take cables or adapters out of the rooms.

## Etiquette
Leave the room as you found it, clean the whiteboard, and end on time. Customer meetings have priority in Danube and Rhine.
"#),
    ("kb/mobile-phones.md", r#"# Mobile phones
## Company phones
Employees in the on-call rotation, sales and field support receive a company phone. IT sets it up with Keel device management and the Beacon app. Phones are replaced every two years.

## Personal phones
Employees who use their personal phone for work receive a monthly allowance of 30 EUR, paid with the salary. Register the phone in Keel to access company email and chat; IT can then only manage the work profile, not your personal data.

## Lost or stolen phone
Report a lost or stolen phone to IT immediately, at extension 4300 or in #it-help from another device. IT wipes the company data remotely. For a company phone, also file a police report if it was stolen; a replacement is issued within two business days.

## Costs
Company phones have unlimited data in the EU. Roaming outside the EU must be approved by your manager before the trip, or it is charged to you.

## Rules
- Keep the operating system updated.
- Use a screen lock with at least six digits.
- Do not share company phones with family members.
"#),
    ("kb/shipping-delivery.md", r#"# Shipping and delivery
This page explains how Lumen Hub orders reach customers.

## Shipping times
Orders ship within two business days from our warehouse in Rotterdam. Standard delivery inside the EU takes 3 to 5 business days; international delivery takes 7 to 10 business days.

## Shipping costs
Shipping is free for orders above 99 EUR. Below that, standard shipping costs 7 EUR in the EU and 19 EUR elsewhere. Express delivery in 1 to 2 days is available in the EU for 15 EUR.

## Tracking
Customers receive a tracking link by email when the order ships. Support can see every shipment in the order tool.

## Damaged parcels
Customers must report a damaged parcel within 48 hours of delivery, with photos. We ship a replacement the same day; the damaged hub does not need to be returned.

## Enterprise orders
Enterprise customers ordering more than 50 hubs get a delivery date agreed with their account manager, and hubs can be pre-configured for their sites before shipping.

Questions from customers go to support; employees can ask the operations team in #ops-logistics.
"#),
    ("kb/support-hours.md", r#"# Customer support hours
Brightwave's customer support team helps customers with Lumen and the Lumen Hub.

## Hours
Customer support is available Monday to Friday from 8:00 to 20:00 CET, except public holidays. Enterprise customers get 24/7 priority support for SEV1 and SEV2 problems.

## Channels
- Chat in the Lumen dashboard, for Team and Enterprise plans.
- Email to support@brightwave.example, for all plans.
- Phone, for Enterprise customers only.

## Response SLA
The first response SLA is 4 business hours for Starter and Team customers, and 1 hour for Enterprise customers. Most chats are answered within ten minutes.

## Escalation
Support escalates bugs to the Triage board and customer-facing outages to the on-call engineer through Beacon. For billing questions, support works with finance.

## Help for employees
Employees who talk to customers can ask support for help in #support-desk. Please do not promise customers fixes or dates; support coordinates that with the product team.
"#),
    ("kb/training-budget.md", r#"# Training budget
Every employee has a learning budget of 1,200 EUR per year, plus three learning days to use it.

## What it covers
Courses, books, online subscriptions, certifications and conferences related to your work. Travel to a conference is paid from the travel budget, not from your learning budget.

## How to use it
Request training in Harbor with the price and a short explanation of how it helps your work. Your manager approves it. Pay with a company card, or claim the cost as an expense in Ledgerly.

## Learning days
The three learning days are for courses or self-study. Record them in Harbor like vacation, so your team knows you are away.

## Conferences
Speaking at a conference is encouraged: speakers get an extra learning day and the company covers the ticket on top of the budget.

## Repayment
If a single course costs more than 2,000 EUR and you leave the company within six months of finishing it, you repay half of its price.

Unused budget does not carry over to the next year.
"#),
    ("kb/hiring-referrals.md", r#"# Hiring and referrals
Brightwave grows through the people our employees know.

## Referral bonus
If you refer a candidate and we hire them, you receive a referral bonus of 2,000 EUR after the new employee completes six months. Submit referrals in Harbor with the CV and a short note about how you know the person. Managers do not receive a bonus for hires into their own team.

## Interview process
Our interview process has four stages:

1. A 30-minute call with a recruiter.
2. A technical or role-specific interview.
3. A team interview with future colleagues.
4. A values interview with someone from another department.

Candidates get feedback within five business days of each stage.

## Interviewing
Employees who interview candidates must complete the interviewer training first. Write your feedback in Harbor within 24 hours, before discussing the candidate with others.

## Open roles
All open roles are on the careers page and in #jobs. Internal candidates can apply to any open role after one year in their current team, and must tell their manager before the first interview.
"#),
];
