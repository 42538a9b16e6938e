module nector.dev/bench/peers/go

go 1.19
