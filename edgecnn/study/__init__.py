"""The accuracy-vs-latency study (`make compare`): the table and the plot of every model's variants."""
