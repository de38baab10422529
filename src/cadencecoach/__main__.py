from cadencecoach.cli.app import run

if __name__ == "__main__":  # not when a worker process (multiprocessing spawn) imports it
    run()
