å"
T3å
newnatural