"""The command line: `sheetbatch validate | template | run | worker | serve`, and the embedded
Redis those commands start when REDIS_URL is unset."""
